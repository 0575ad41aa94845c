/**
 * The session port: what the rest of the agent sees of the cloud link. Handlers and tests never
 * touch Socket.IO; they get inbound messages with an optional ack callback, and can emit.
 *
 * @module
 */

/** Replies to an inbound message (Socket.IO ack). */
export type AckFn = (body: unknown) => void;

/** One inbound message from the cloud. */
export interface Inbound {
  /** Event name (topic). */
  topic: string;
  /** First argument of the event. */
  payload: unknown;
  /** Present when the cloud asked for an ack. */
  ack?: AckFn;
}

/** The link to the cloud. */
export interface Session {
  /** Whether the link is up now. */
  connected(): boolean;
  /** Emits an event without ack; dropped when not connected (returns false). */
  emit(event: string, payload: unknown): boolean;
  /** Registers the inbound message handler (one). */
  onMessage(handler: (msg: Inbound) => void): void;
  /** Registers link state listeners. */
  onState(listener: (up: boolean) => void): void;
  /** Starts connecting (and reconnecting) until `close`. */
  start(): void;
  /** Stops reconnecting and disconnects. */
  close(): Promise<void>;
}
