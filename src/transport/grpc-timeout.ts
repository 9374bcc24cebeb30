// Reads the grpc-timeout request header whole, as the gRPC over HTTP/2
// protocol defines it: 1 to 8 ASCII digits and one unit (H, M, S, m, u, n),
// nothing else. grpc-js's own reading finds the pattern anywhere in the value
// ("-1S" reads as 1 s, "999999999S" as 99999999 s), echoes a value it cannot
// read back to the client, and overflows 32 bits past ~24.8 days (so "720H"
// expires at once). The server removes the header before grpc-js sees it
// (grpc-server.ts) and reads it here instead.

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
