// A postgres.js 4.2.0 defect, worked around here and nowhere else (not yet
// reported upstream: no issue on porsager/postgres describes it as of this
// writing; test/db/postgres-js-cancel-while-describing.test.ts shows it and
// fails once it is fixed, and then this file goes).
//
// postgres.js sometimes sends a statement's Parse and Describe alone and
// waits for the description before it sends the rest: always when a
// parameter has no type, and for a named (prepared) statement whenever the
// pool would learn or check its description again, as on a connection that
// has not prepared it yet once another has run it. cancel() in that phase
// sends no CancelRequest: it only keeps the rest from being sent. But Parse
// is where PostgreSQL takes the tables' locks, so a statement that waits for
// a lock there (behind a migration, a LOCK TABLE, a long transaction) keeps
// waiting, cancelled or not, until the lock is released, and holds its
// connection all that time.
//
// An unnamed statement whose every parameter has a type never waits for a
// description (its Parse, Bind and Execute go out together), and cancel()
// then sends the request. So every statement sent on a cancellable
// connection goes out unnamed (prepare: false, whatever DATABASE_PREPARE
// says), with a type for each parameter given through postgres.js's public
// `typed`: `unknown` (705) for scalars, which PostgreSQL resolves from the
// statement exactly as it resolves a parameter given no type, and for arrays
// the array type of their elements (the statements cast arrays where the
// column is not of that type, as in `$1::uuid[]`). That costs the server a
// parse per statement, and saves the client the describe round trip that
// unnamed statements with untyped parameters take.
import type { ISql } from "postgres";
import { sendOn, type AnyQuery } from "./drizzle-client";

const UNKNOWN = 705;
const BYTEA = 17;
const TIMESTAMPTZ = 1184;
const TEXT_ARRAY = 1009;
const FLOAT8_ARRAY = 1022;
const BOOL_ARRAY = 1000;

/** The type a value is sent as; undefined leaves it to postgres.js (and to the describe phase). */
function typeOf(value: unknown): number | undefined {
  if (value instanceof Uint8Array) return BYTEA;
  if (value instanceof Date) return TIMESTAMPTZ;
  if (Array.isArray(value)) {
    const element = value.find((item) => item !== null && item !== undefined) as unknown;
    if (element === undefined || typeof element === "string") return TEXT_ARRAY;
    if (typeof element === "number") return FLOAT8_ARRAY;
    if (typeof element === "boolean") return BOOL_ARRAY;
    return undefined;
  }
  if (value === null || ["string", "number", "boolean", "bigint"].includes(typeof value)) return UNKNOWN;
  return undefined;
}

/** Sends a statement on `connection` so that its cancel() is always sent: unnamed, every parameter typed. */
export function sendCancellable(connection: ISql, query: string, params?: readonly unknown[]): AnyQuery {
  return sendOn(connection, query, typedParameters(connection, params), { prepare: false });
}

function typedParameters(connection: ISql, params: readonly unknown[] | undefined): unknown[] | undefined {
  return params?.map((value) => {
    const type = typeOf(value);
    return type === undefined ? value : connection.typed(value, type);
  });
}
