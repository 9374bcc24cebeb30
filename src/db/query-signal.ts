// Carries the current call's abort signal to the queries it runs, so that a
// call whose client cancels or whose deadline passes also stops its query on
// the PostgreSQL server, rather than leaving it to run and hold locks and a
// connection. The deadline middleware sets the signal around the handler;
// the postgres.js client below cancels the query in flight when it aborts.
// (PGlite runs queries in this thread, one at a time; there is nothing to cancel.)
import { AsyncLocalStorage } from "node:async_hooks";
import type { Sql } from "postgres";

const storage = new AsyncLocalStorage<AbortSignal | undefined>();

export function runWithQuerySignal<T>(signal: AbortSignal, work: () => T): T {
  return storage.run(signal, work);
}

/** For work shared by several calls (a coalesced read): no one call may cancel it. */
export function runWithoutQuerySignal<T>(work: () => T): T {
  return storage.run(undefined, work);
}

/** Counts the queries of an instrumented client that have not settled. */
export interface QueryGauge {
  active: number;
}

/**
 * postgres.js's `sql`, whose queries are cancelled when the current call's
 * signal aborts, and counted while they run (each holds a pool connection).
 */
export function instrumentedSql(sql: Sql, gauge: QueryGauge): Sql {
  return new Proxy(sql, {
    get(target, property, receiver) {
      if (property !== "unsafe") return Reflect.get(target, property, receiver);
      return (...args: Parameters<Sql["unsafe"]>) => {
        const query = target.unsafe(...args);
        const signal = storage.getStore();
        const cancel = () => query.cancel();
        if (signal?.aborted) cancel();
        else signal?.addEventListener("abort", cancel, { once: true });
        gauge.active += 1;
        // Attach after the caller has set the query up (Drizzle calls .values()
        // on it synchronously); then() starts it, so never before that.
        queueMicrotask(() => {
          const settled = () => {
            gauge.active -= 1;
            signal?.removeEventListener("abort", cancel);
          };
          query.then(settled, settled);
        });
        return query;
      };
    },
  });
}
