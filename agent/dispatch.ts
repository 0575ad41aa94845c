/**
 * Dispatch: inbound cloud messages to the handler table. Validation goes through the contracts;
 * the ack is `{action, correlation_id, ...body}`; a handler that throws gives an error ack and a
 * logged stack; unknown topics are logged and, when the cloud asked for an ack, answered with an
 * error ack. Every message with an ack callback gets exactly one ack.
 *
 * @module
 */
import {
  correlationIdOf,
  errorAck,
  isTopicName,
  parseMessage,
  type TopicName,
} from "../contracts/mod.ts";
import type { HandlerTable } from "./handlers/types.ts";
import type { Logger } from "./log.ts";
import type { Inbound } from "./session/types.ts";

/** Events the cloud may send that are not commands (Socket.IO internals, our own echo). */
const IGNORED = new Set(["heartbeat"]);

/** The dispatcher. */
export interface Dispatcher {
  /** Handles one inbound message; resolves once its ack is sent. */
  handle(msg: Inbound): Promise<void>;
  /** Stops accepting: later messages get an error ack. */
  stop(): void;
  /** Resolves when the running handlers finished, or after `timeoutMs`. */
  drain(timeoutMs: number): Promise<void>;
  /** Handlers running now. */
  inFlight(): number;
}

/** Builds the dispatcher over a complete handler table. */
export function createDispatcher(table: HandlerTable, log: Logger): Dispatcher {
  let accepting = true;
  const running = new Set<Promise<void>>();

  const run = async (msg: Inbound): Promise<void> => {
    const { topic, payload, ack } = msg;
    const reply = (body: unknown) => {
      try {
        ack?.(body);
      } catch (err) {
        log.error(`Cannot send the ack of ${topic}: ${(err as Error).message}`);
      }
    };
    const cid = correlationIdOf(payload);
    if (!isTopicName(topic)) {
      if (IGNORED.has(topic) && !ack) return;
      log.warn(`Unknown topic "${topic}"`, { correlation_id: cid });
      reply(errorAck(topic, cid, `Unknown topic: ${topic}`));
      return;
    }
    if (!accepting) {
      reply(errorAck(topic, cid, `${topic} refused: the agent is shutting down`));
      return;
    }
    const parsed = parseMessage(topic, payload);
    if (!parsed.ok) {
      log.info(`Rejected ${topic}: ${parsed.ack.error}`, { correlation_id: cid });
      reply(parsed.ack);
      return;
    }
    log.debug(`Handling ${topic}`, { correlation_id: cid });
    try {
      const handler = table[topic] as (m: unknown) => Promise<Record<string, unknown>>;
      const body = await handler(parsed.message);
      // action and correlation_id first (key order of the wire format) and last (a handler
      // cannot overwrite them).
      reply(Object.assign({ action: topic, correlation_id: cid }, body, {
        action: topic,
        correlation_id: cid,
      }));
    } catch (err) {
      const e = err instanceof Error ? err : new Error(String(err));
      log.error(`Handler of ${topic} failed: ${e.message}`, {
        correlation_id: cid,
        stack: e.stack,
      });
      reply(errorAck(topic, cid, `${topic} failed: ${e.message}`));
    }
  };

  return {
    handle(msg) {
      const p = run(msg);
      running.add(p);
      void p.finally(() => running.delete(p));
      return p;
    },
    stop() {
      accepting = false;
    },
    async drain(timeoutMs) {
      let timer: ReturnType<typeof setTimeout> | undefined;
      await Promise.race([
        Promise.allSettled([...running]),
        new Promise((r) => (timer = setTimeout(r, timeoutMs))),
      ]);
      clearTimeout(timer);
    },
    inFlight: () => running.size,
  };
}

/** Topic names the cloud may send, for logging and tests. */
export type { TopicName };
