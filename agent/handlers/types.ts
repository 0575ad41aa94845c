/**
 * Handler shapes: one file per cloud topic, each `(deps, message) => Promise<ack body>`. The
 * dispatcher validates with the contracts before a handler runs and adds `action` and
 * `correlation_id` to whatever the handler answers.
 *
 * @module
 */
import type { TopicMessages, TopicName } from "../../contracts/mod.ts";

/** What a handler answers, without `action` / `correlation_id` (the dispatcher adds them). */
export type AckBody = Record<string, unknown>;

/** A topic handler with its dependencies as the first argument. */
export type Handler<K extends TopicName, D> = (
  deps: D,
  message: TopicMessages[K],
) => Promise<AckBody>;

/** A handler with its dependencies bound by the composition root. */
export type BoundHandler<K extends TopicName> = (message: TopicMessages[K]) => Promise<AckBody>;

/** The dispatch table: every topic of the registry has exactly one bound handler. */
export type HandlerTable = { [K in TopicName]: BoundHandler<K> };
