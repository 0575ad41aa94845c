/**
 * Writes the JSON Schema of every contract to `contracts/schema/` for cloud services not written
 * in TypeScript (`deno task schema`). `scripts/export_schema_test.ts` fails when the checked-in
 * files are stale.
 *
 * Requests are exported in their input form (what a sender may send: both vNIC spellings);
 * refinements that JSON Schema cannot express (e.g. "manual mode needs an address inside the
 * parent subnet") are only enforced by the zod schemas.
 *
 * @module
 */
import { z } from "zod";
import {
  Heartbeat,
  NetmonCommand,
  NetmonEvent,
  NetmonOriginalEvent,
  NetmonPlainReply,
  NetmonReply,
  RuntimeVnicsFile,
  TOPIC_NAMES,
  TOPICS,
} from "../contracts/mod.ts";

const SCHEMA_DIR = new URL("../contracts/schema/", import.meta.url);

function toSchema(schema: z.ZodType, io: "input" | "output"): unknown {
  return z.toJSONSchema(schema, { io, unrepresentable: "any", target: "draft-2020-12" });
}

/** File name to JSON text, for every exported contract. Pure. */
export function buildSchemas(): Map<string, string> {
  const files = new Map<string, string>();
  const put = (name: string, schema: z.ZodType, io: "input" | "output") =>
    files.set(name, JSON.stringify(toSchema(schema, io), null, 2) + "\n");
  for (const topic of TOPIC_NAMES) {
    put(`${topic}.request.json`, TOPICS[topic].request as z.ZodType, "input");
    put(`${topic}.ack.json`, TOPICS[topic].ack, "output");
  }
  put("heartbeat.json", Heartbeat, "output");
  put("netmon_event.json", NetmonEvent, "output");
  put("netmon_command.json", NetmonCommand, "input");
  put("netmon_reply.json", NetmonReply, "output");
  put("netmon_plain_reply.json", NetmonPlainReply, "output");
  put("netmon_original_event.json", NetmonOriginalEvent, "output");
  put("runtime_vnics.json", RuntimeVnicsFile as z.ZodType, "input");
  return files;
}

/** The directory the schemas are written to. */
export const schemaDir: URL = SCHEMA_DIR;

if (import.meta.main) {
  await Deno.mkdir(SCHEMA_DIR, { recursive: true });
  for (const [name, text] of buildSchemas()) {
    await Deno.writeTextFile(new URL(name, SCHEMA_DIR), text);
  }
  console.log(`wrote ${buildSchemas().size} JSON Schemas to contracts/schema/`);
}
