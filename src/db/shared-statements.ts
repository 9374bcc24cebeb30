// The client behind DatabaseHandle.db, for work that is no one call's (health
// checks, watchers catching up, the key sweep, start-up reads). Each
// statement runs as a call's does, on a connection reserved for it
// (reserved-work.ts), with the statement bound as its only limit: a
// statement that outlives it is cancelled, and that cancel can reach nothing
// else. Drizzle awaits what unsafe() returns (after asking for .values()),
// so the statement starts when it is awaited, as postgres.js's own do.
import type { Sql } from "postgres";
import type { DriverClient, DriverQuery } from "./drizzle-client";
import type { RunReserved } from "./reserved-work";

/** A scope of its own for each statement: nothing stops it but the statement bound. */
const UNBOUNDED = { signal: new AbortController().signal, remainingMs: () => undefined };

export function sharedStatements(options: Sql["options"], runReserved: RunReserved): DriverClient {
  return {
    options,
    unsafe(query, params, queryOptions) {
      let asValues = false;
      let started: Promise<unknown> | undefined;
      const start = () =>
        (started ??= runReserved(UNBOUNDED, async (client) => {
          const sent = client.unsafe(query, params, queryOptions);
          return asValues ? await sent.values() : await sent;
        }));
      const statement: DriverQuery = {
        values() {
          asValues = true;
          return statement;
        },
        then(onFulfilled, onRejected) {
          return start().then(onFulfilled, onRejected);
        },
      };
      return statement;
    },
  };
}
