// A postgres.js 4.2.0 defect, worked around here and nowhere else (not yet
// reported upstream: no issue on porsager/postgres describes it as of this
// writing; test/db/postgres-js-cancel-while-describing.test.ts shows it and
// fails once it is fixed, and then this file goes).
//
// A query whose parameters have no type is first sent as Parse + Describe
// alone, and postgres.js waits for the description before it sends the rest
// (with prepare: false on every run, with named statements on each
// connection's first). cancel() in that phase sends no CancelRequest: it only
// keeps the rest from being sent. But Parse is where PostgreSQL takes the
// tables' locks, so a statement that waits for a lock there (behind a
// migration, a LOCK TABLE, a long transaction) keeps waiting, cancelled or
// not, until the lock is released, and holds its connection all that time.
//
// A query whose every parameter has a type skips that phase (its Parse,
// Bind and Execute go out together), and cancel() then sends the request.
// So the parameters of every statement sent on a cancellable connection are
// given types here, through postgres.js's public `typed`: `unknown` (705)
// for scalars, which PostgreSQL resolves from the statement exactly as it
// resolves a parameter given no type, and for arrays the array type of
// their elements (the statements cast arrays where the column is not of that
// type, as in `$1::uuid[]`). It also saves the describe round trip on
// every statement run with prepare: false.
import type { ISql } from "postgres";

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

/** `params` with a type each, for statements sent on `connection`. */
export function typedParameters(connection: ISql, params: readonly unknown[] | undefined): unknown[] | undefined {
  return params?.map((value) => {
    const type = typeOf(value);
    return type === undefined ? value : connection.typed(value, type);
  });
}
