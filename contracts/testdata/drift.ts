/**
 * Helpers of the wire golden tests (not published): the recorded ack cases of
 * `golden_acks.json`, the drifts derived from each (a key dropped, a value of another type, an
 * unknown key) that the strict ack schemas must refuse, and the comparison of an ack our code
 * produced with a recorded one (keys, types, integers, texts).
 *
 * Paths: `a.b` a key, `a[]` the items of an array, `a.*` the values of an object keyed by data
 * (network names, header names).
 *
 * @module
 */
import { ackMessages, ORCHESTRATOR_OPERATION, statusMessages } from "../texts.ts";

/** An exact text of a recorded ack and the contracts helper that builds it. */
export interface TextCase {
  /** Path of the string in the ack. */
  path: string;
  /** `statusMessages.<name>`, `ackMessages.<name>` or a constant's name. */
  helper: string;
  /** Arguments of the helper; null for a constant. */
  args: string[] | null;
}

/** One recorded ack. */
export interface AckCase {
  /** Short name. */
  name: string;
  /** Where the shape comes from. */
  source: string;
  /** The recorded ack. */
  ack: Record<string, unknown>;
  /** Paths that may be absent. */
  optional?: string[];
  /** Objects keyed by data. */
  open?: string[];
  /** Values of any JSON type. */
  any_type?: string[];
  /** Exact texts. */
  texts?: TextCase[];
}

/** The golden file. */
export interface GoldenAcks {
  /** Provenance. */
  _about: string;
  /** Cases per topic. */
  topics: Record<string, { source: string; acks: AckCase[] }>;
  /** Cases per emitted event. */
  events: Record<string, { source: string; acks: AckCase[] }>;
}

/** Reads `golden_acks.json`. */
export async function loadGoldenAcks(): Promise<GoldenAcks> {
  return JSON.parse(await Deno.readTextFile(new URL("./golden_acks.json", import.meta.url)));
}

type Key = string | number;
const DELETE = Symbol("delete");

function setIn(root: unknown, keys: Key[], value: unknown): unknown {
  if (keys.length === 0) return value;
  const [k, ...rest] = keys as [Key, ...Key[]];
  if (Array.isArray(root)) {
    const copy = [...root];
    copy[k as number] = setIn(copy[k as number], rest, value);
    return copy;
  }
  const copy = { ...(root as Record<string, unknown>) };
  if (rest.length === 0 && value === DELETE) delete copy[k as string];
  else copy[k as string] = setIn(copy[k as string], rest, value);
  return copy;
}

function join(path: string, key: string): string {
  return path ? `${path}.${key}` : key;
}

function otherType(v: unknown): unknown {
  if (typeof v === "string") return 12345;
  if (typeof v === "number") return String(v);
  if (typeof v === "boolean") return String(v);
  if (v === null) return 12345;
  return "drift";
}

/** One drifted copy of a recorded ack. */
export interface Drift {
  /** What was changed. */
  label: string;
  /** The drifted ack. */
  ack: unknown;
}

/**
 * Every drift of a recorded ack that a strict schema must refuse: each required key dropped,
 * each value replaced by one of another type, an unknown key added to each closed object.
 */
export function drifts(c: AckCase): Drift[] {
  const out: Drift[] = [];
  const optional = new Set(c.optional ?? []);
  const open = new Set(c.open ?? []);
  const anyType = new Set(c.any_type ?? []);
  const walk = (value: unknown, path: string, keys: Key[]) => {
    if (anyType.has(path)) return;
    if (Array.isArray(value)) {
      if (value.length > 0) walk(value[0], `${path}[]`, [...keys, 0]);
      out.push({ label: `${path} not a list`, ack: setIn(c.ack, keys, "drift") });
      return;
    }
    if (value !== null && typeof value === "object") {
      const isOpen = open.has(path);
      if (!isOpen) {
        out.push({
          label: `unknown key in ${path || "the ack"}`,
          ack: setIn(c.ack, [...keys, "unexpected_field"], 1),
        });
      }
      for (const [k, v] of Object.entries(value)) {
        const child = isOpen ? `${path}.*` : join(path, k);
        if (!isOpen && !optional.has(child)) {
          out.push({ label: `${child} dropped`, ack: setIn(c.ack, [...keys, k], DELETE) });
        }
        walk(v, child, [...keys, k]);
      }
      if (path) out.push({ label: `${path} not an object`, ack: setIn(c.ack, keys, "drift") });
      return;
    }
    out.push({ label: `${path} of another type`, ack: setIn(c.ack, keys, otherType(value)) });
  };
  walk(c.ack, "", []);
  return out;
}

function kind(v: unknown): string {
  if (v === null) return "null";
  if (Array.isArray(v)) return "array";
  if (typeof v === "number") return Number.isInteger(v) ? "integer" : "number";
  return typeof v;
}

/**
 * Differences between an ack we produced and a recorded one: keys missing or extra (optional
 * paths may be absent on either side), values of another JSON type (null matches anything:
 * nullability is the schema's business), a fraction where the original has an integer.
 */
export function shapeDiff(c: AckCase, ours: unknown): string[] {
  const out: string[] = [];
  const optional = new Set(c.optional ?? []);
  const open = new Set(c.open ?? []);
  const anyType = new Set(c.any_type ?? []);
  const walk = (rec: unknown, got: unknown, path: string) => {
    if (anyType.has(path) || rec === null || got === null) return;
    const kr = kind(rec);
    const kg = kind(got);
    if (kr !== kg && !(kr === "number" && kg === "integer")) {
      out.push(`${path || "ack"}: ${kg}, the original has ${kr}`);
      return;
    }
    if (kr === "array") {
      const [first] = rec as unknown[];
      if (first !== undefined) {
        for (const item of got as unknown[]) walk(first, item, `${path}[]`);
      }
      return;
    }
    if (kr !== "object") return;
    const r = rec as Record<string, unknown>;
    const g = got as Record<string, unknown>;
    if (open.has(path)) {
      const [first] = Object.values(r);
      if (first !== undefined) { for (const v of Object.values(g)) walk(first, v, `${path}.*`); }
      return;
    }
    for (const k of Object.keys(r)) {
      const child = join(path, k);
      if (!(k in g)) {
        if (!optional.has(child)) out.push(`${child}: missing`);
      } else walk(r[k], g[k], child);
    }
    for (const k of Object.keys(g)) {
      const child = join(path, k);
      if (!(k in r) && !optional.has(child)) out.push(`${child}: not in the original's ack`);
    }
  };
  walk(c.ack, ours, "");
  return out;
}

/** The value at a path (no `[]` or `*`). */
export function valueAt(ack: unknown, path: string): unknown {
  return path.split(".").reduce<unknown>(
    (v, k) => (v !== null && typeof v === "object" ? (v as Record<string, unknown>)[k] : undefined),
    ack,
  );
}

const helpers: Record<string, unknown> = {
  statusMessages,
  ackMessages,
  ORCHESTRATOR_OPERATION,
};

/** The text a contracts helper builds for a {@linkcode TextCase}. */
export function helperText(t: TextCase): string {
  const [obj, name] = t.helper.split(".") as [string, string | undefined];
  const target = name === undefined
    ? helpers[obj]
    : (helpers[obj] as Record<string, unknown> | undefined)?.[name];
  if (typeof target === "function") return target(...(t.args ?? []));
  if (typeof target === "string") return target;
  throw new Error(`unknown text helper ${t.helper}`);
}
