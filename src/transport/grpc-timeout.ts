// Reads the grpc-timeout request header whole, as the gRPC over HTTP/2
// protocol defines it: 1 to 8 ASCII digits and one unit (H, M, S, m, u, n),
// nothing else. A value that does not match is refused, not searched for a
// pattern ("-1S" is not 1 s), and the result is in milliseconds as a double,
// so the longest value the protocol allows (99999999H) is a deadline far
// away rather than a 32-bit overflow that expires at once.

const GRPC_TIMEOUT = /^(\d{1,8})([HMSmun])$/;

const UNIT_MS: Readonly<Record<string, number>> = {
  H: 3_600_000,
  M: 60_000,
  S: 1_000,
  m: 1,
  u: 1e-3,
  n: 1e-6,
};

export type ParsedTimeout =
  | { readonly kind: "absent" }
  | { readonly kind: "malformed" }
  /** The budget in ms; fractional for u and n, at most 99,999,999 hours. */
  | { readonly kind: "timeout"; readonly ms: number };

export function parseGrpcTimeout(header: string | string[] | undefined): ParsedTimeout {
  if (header === undefined) return { kind: "absent" };
  // A repeated header is as malformed as a bad one: which would be meant?
  if (Array.isArray(header)) return header.length === 1 ? parseGrpcTimeout(header[0]) : { kind: "malformed" };
  const match = GRPC_TIMEOUT.exec(header);
  if (match === null) return { kind: "malformed" };
  return { kind: "timeout", ms: Number(match[1]) * (UNIT_MS[match[2] as string] as number) };
}
