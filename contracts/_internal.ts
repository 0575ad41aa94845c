/**
 * Building blocks shared by the contract schemas; not part of the published API.
 *
 * @module
 */
import { z } from "zod";

export const RUNTIME_NAME_RE = /^[A-Za-z0-9][A-Za-z0-9_.-]{0,62}$/;

/** @internal shape reused by every topic schema. */
export const commonShape = {
  correlation_id: z.number().nullable().optional(),
  action: z.string().optional(),
  requested_at: z.iso.datetime({ offset: true, local: true }).optional(),
};

/** @internal */
export const runtimeName = z.string().min(1, "must not be empty").regex(
  RUNTIME_NAME_RE,
  "must be 1-63 characters of [A-Za-z0-9_.-], starting with a letter or digit",
);

/** @internal */
export const IPV4_PATTERN =
  /^(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)(\.(25[0-5]|2[0-4]\d|1\d\d|[1-9]?\d)){3}$/;

/** @internal */
export const ipv4 = z.string().regex(IPV4_PATTERN, "must be an IPv4 address like 192.0.2.10");

/** @internal CIDR `a.b.c.d/n`. */
export const cidr = z.string().refine((s) => {
  const [ip, len, extra] = s.split("/");
  return extra === undefined && ip !== undefined && IPV4_PATTERN.test(ip) && len !== undefined &&
    /^\d{1,2}$/.test(len) && Number(len) <= 32;
}, "must be an IPv4 CIDR like 192.0.2.0/24");
