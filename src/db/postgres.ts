// PostgreSQL through a postgres.js pool.
//
// Cancelling a call's query safely. PostgreSQL cancels with a CancelRequest
// sent on a separate connection, and it interrupts whatever the target
// backend runs when it arrives. postgres.js pipelines several callers'
// queries on one connection and hands a connection on as soon as its queries
// are done, so a cancel sent for one call could stop another's query. Here,
// work that may be cancelled runs on a connection reserved for it
// (withConnection, transaction), and once its signal aborts, that connection
// runs nothing more (no next statement, no COMMIT or ROLLBACK, no return to
// the pool) until PostgreSQL has closed the cancel connection, which it does
// after signalling the backend. A backend that receives the signal while idle
// discards it, so the cancel stops this call's statement or nothing.
//
// A postgres.js 3.4.9 defect (upstream issues #1119 and #1181, unfixed in any
// release): a query that fails after some of its rows arrived leaves the
// connection's row counter behind, and the next query on that connection
// resolves with that many empty slots before its rows. A reserved connection
// whose statement failed therefore completes one more statement (which resets
// the counter) before it goes back to the pool; a transaction's ROLLBACK does
// the same. The pool's shared queries are never cancelled, and their
// statement_timeout (the backstop) is minutes: far beyond any point read.
import type { SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/postgres-js";
import postgres, { type PendingQuery, type Sql } from "postgres";
import type { CallConnection, Database, DatabaseHandle, DrizzleConfig, PreparedStatement } from "./client";
import { startListener } from "./postgres-listener";
import { createReachability, isConnectionError } from "./reachability";
import { rowsOf } from "./rows";

export interface PostgresOptions {
  readonly url: string;
  readonly poolMax: number;
  readonly statementTimeoutMs: number;
  readonly drizzleConfig: DrizzleConfig;
}

/** Completes on any connection and resets postgres.js's row counter (see above). */
const RESET_STATEMENT = "SELECT 1 WHERE false";
/** A transaction's statement_timeout is the call's time left plus this, so the call's own deadline (and its cancel) normally comes first. */
const STATEMENT_TIMEOUT_SLACK_MS = 100;
const MAX_STATEMENT_TIMEOUT_MS = 2 ** 31 - 1;
const CONNECT_TIMEOUT_SECONDS = 1;
const MAX_RECONNECT_WAIT_SECONDS = 0.25;

/** The part of a postgres.js client that Drizzle's postgres-js driver uses. */
interface DriverClient {
  readonly options: Sql["options"];
  unsafe(query: string, params?: unknown[], options?: { prepare?: boolean }): AnyQuery;
  begin?<T>(work: (client: DriverClient) => Promise<T>): Promise<T>;
}

type Connection = Pick<Sql, "unsafe">;
type AnyQuery = PendingQuery<postgres.RowList<postgres.Row[]>>;

export function openPostgres(options: PostgresOptions): DatabaseHandle {
  const sql = postgres(options.url, {
    max: options.poolMax,
    // Server notices (e.g. "relation already exists, skipping") are not ours to print.
    onnotice: () => undefined,
    connection: { application_name: "product-service", statement_timeout: options.statementTimeoutMs },
    // A database that does not answer fails the call within a second or so, not 30 s.
    connect_timeout: CONNECT_TIMEOUT_SECONDS,
    // postgres.js waits up to 20 s between reconnects after repeated failures
    // (3^n / 100 s), which delays recovery long after the database is back.
    // The reachability gate keeps calls from hammering a dead database, so a
    // short, bounded wait is enough.
    backoff: (retries: number) => Math.min(0.025 * 2 ** retries, MAX_RECONNECT_WAIT_SECONDS),
  });
  const reachability = createReachability(async () => {
    await sql`SELECT 1`;
  });
  const over = (client: DriverClient): Database => drizzle(client as unknown as Sql, options.drizzleConfig);
  let pooledQueries = 0;
  // Connections set aside from the pool: reserved for a call's work, LISTEN's, the migration lock's.
  let held = 0;

  const pooled: DriverClient = {
    options: sql.options,
    unsafe(query, params, queryOptions) {
      reachability.check();
      const pending: AnyQuery = sql.unsafe(query, params as postgres.ParameterOrJSON<never>[], queryOptions);
      pooledQueries += 1;
      const settled = () => void (pooledQueries -= 1);
      // postgres.js starts a query when it is awaited; Drizzle sets it up
      // (.values()) synchronously first, so attach only after that.
      queueMicrotask(
        () =>
          void pending.then(settled, (error: unknown) => {
            settled();
            reachability.failed(error);
          }),
      );
      return pending;
    },
  };

  /** A reserved connection, unless the signal aborts first (then it goes straight back). */
  async function reserve(signal: AbortSignal): Promise<postgres.ReservedSql> {
    signal.throwIfAborted();
    reachability.check();
    const reserving = sql.reserve();
    reserving.catch((error: unknown) => reachability.failed(error));
    let onAbort: (() => void) | undefined;
    const aborted = new Promise<never>((_, reject) => {
      onAbort = () => reject(signal.reason as Error);
      signal.addEventListener("abort", onAbort, { once: true });
    });
    try {
      return await Promise.race([reserving, aborted]);
    } catch (error) {
      void reserving.then(
        (connection) => connection.release(),
        () => undefined,
      );
      throw error;
    } finally {
      signal.removeEventListener("abort", onAbort as () => void);
    }
  }

  // Statements prepared once run on whichever call connection executes them:
  // Drizzle hands a prepared statement's query to its client synchronously
  // inside execute(), so the router sends it where `routedTo` points then.
  let routedTo: DriverClient | undefined;
  const router: DriverClient = {
    options: sql.options,
    unsafe(query, params, queryOptions) {
      if (routedTo === undefined) throw new Error("a prepared statement ran outside a call connection");
      return routedTo.unsafe(query, params, queryOptions);
    },
  };
  const routed = over(router);

  function callConnection(client: DriverClient): CallConnection {
    let db: Database | undefined;
    return {
      get db() {
        return (db ??= over(client));
      },
      execute<Result>(statement: PreparedStatement<Result>, values?: Record<string, unknown>): Promise<Result> {
        routedTo = client;
        try {
          return statement.execute(values);
        } finally {
          routedTo = undefined;
        }
      },
      async rows<Row>(query: SQL): Promise<Row[]> {
        return rowsOf<Row>(await this.db.execute(query));
      },
    };
  }

  return {
    backend: "postgres",
    db: over(pooled),

    prepare(build) {
      return build(routed);
    },

    async withConnection(scope, work) {
      const connection = await reserve(scope.signal);
      held += 1;
      const cancellable = cancellableClient(connection, sql.options, scope.signal, (error) =>
        reachability.failed(error),
      );
      try {
        return await work(callConnection(cancellable.client));
      } finally {
        const outcome = await cancellable.quiesce();
        // A lost connection is already back among the pool's closed ones
        // (postgres.js reconnects it on demand): writing to it, or releasing
        // it as open, would make postgres.js write to a socket it has dropped.
        if (!outcome.lost) {
          if (outcome.failed) await connection.unsafe(RESET_STATEMENT).catch(() => undefined);
          connection.release();
        }
        held -= 1;
      }
    },

    async transaction(scope, work) {
      scope.signal.throwIfAborted();
      reachability.check();
      held += 1;
      try {
        return (await sql.begin(async (tx) => {
          const cancellable = cancellableClient(tx, sql.options, scope.signal, (error) => reachability.failed(error));
          try {
            const budget = scope.remainingMs();
            if (budget !== undefined) {
              const timeoutMs = Math.min(Math.ceil(budget) + STATEMENT_TIMEOUT_SLACK_MS, MAX_STATEMENT_TIMEOUT_MS);
              await tx.unsafe("SELECT set_config('statement_timeout', $1, true)", [String(timeoutMs)]);
            }
            const result = await work(callConnection(cancellable.client));
            // The last moment to stop: postgres.js sends COMMIT when this returns.
            scope.signal.throwIfAborted();
            return result;
          } finally {
            // postgres.js sends COMMIT or ROLLBACK next, on this connection.
            await cancellable.quiesce();
          }
        })) as Awaited<ReturnType<typeof work>>;
      } catch (error) {
        reachability.failed(error);
        throw error;
      } finally {
        held -= 1;
      }
    },

    async listen(channel, onPayload, onListening) {
      // A connection of its own, outside the pool (postgres-listener.ts).
      let listening = false;
      const stop = await startListener({
        url: options.url,
        channel,
        onPayload,
        onListening: (now) => {
          if (now !== listening) held += now ? 1 : -1;
          listening = now;
          onListening?.(now);
        },
      });
      return async () => {
        if (listening) held -= 1;
        listening = false;
        await stop();
      };
    },

    async withAdvisoryLock(key, work) {
      // A session-level lock belongs to one connection: the work runs on the
      // same one (so a pool of one connection is enough), and the unlock too.
      const connection = await sql.reserve();
      held += 1;
      try {
        await connection`SELECT pg_advisory_lock(${key})`;
        try {
          return await work(over(transactionalClient(connection, sql.options)));
        } finally {
          await connection`SELECT pg_advisory_unlock(${key})`;
        }
      } finally {
        connection.release();
        held -= 1;
      }
    },

    async ping() {
      try {
        await sql`SELECT 1`;
      } catch (error) {
        reachability.failed(error);
        throw error;
      }
    },

    connectionsInUse() {
      return Math.min(pooledQueries, options.poolMax) + held;
    },

    async close() {
      reachability.stop();
      await sql.end({ timeout: 5 });
    },
  };
}

/**
 * A client over one connection whose statements are cancelled when `signal`
 * aborts. quiesce() resolves once every cancel it sent has been delivered,
 * with whether any statement failed (the connection then needs a reset).
 */
function cancellableClient(
  connection: Connection,
  options: Sql["options"],
  signal: AbortSignal,
  onFailure: (error: unknown) => void,
) {
  const inFlight = new Set<AnyQuery>();
  const cancels: Promise<unknown>[] = [];
  let failed = false;
  let lost = false;
  const cancelInFlight = () => {
    for (const query of inFlight) cancels.push(cancelAndWait(query));
    inFlight.clear();
  };
  signal.addEventListener("abort", cancelInFlight, { once: true });

  const client: DriverClient = {
    options,
    unsafe(query, params, queryOptions) {
      signal.throwIfAborted();
      const pending: AnyQuery = connection.unsafe(query, params as postgres.ParameterOrJSON<never>[], queryOptions);
      inFlight.add(pending);
      const settled = () => inFlight.delete(pending);
      queueMicrotask(
        () =>
          void pending.then(settled, (error: unknown) => {
            failed = true;
            lost ||= isConnectionError(error);
            settled();
            onFailure(error);
          }),
      );
      return pending;
    },
  };

  return {
    client,
    /** Once every cancel sent has landed: whether a statement failed (or was cancelled), and whether the connection was lost. */
    async quiesce(): Promise<{ failed: boolean; lost: boolean }> {
      signal.removeEventListener("abort", cancelInFlight);
      await Promise.all(cancels);
      return { failed: failed || cancels.length > 0, lost };
    },
  };
}

/**
 * Cancels a query and resolves once PostgreSQL has closed the cancel
 * connection (or the query was never sent). postgres.js's public cancel()
 * starts the same work but drops the promise that says when it is done, so
 * its canceller (the pool's cancel function, one-shot) is called here.
 */
function cancelAndWait(query: AnyQuery): Promise<void> {
  const internals = query as unknown as { canceller: ((query: AnyQuery) => Promise<void>) | null };
  const canceller = internals.canceller;
  if (canceller === null) return Promise.resolve();
  internals.canceller = null;
  return canceller(query).catch(() => undefined);
}

/** A client over one reserved connection that can also run a transaction on it (Drizzle's migrator does). */
function transactionalClient(connection: Connection, options: Sql["options"]): DriverClient {
  const client: DriverClient = {
    options,
    unsafe: (query, params, queryOptions) =>
      connection.unsafe(query, params as postgres.ParameterOrJSON<never>[], queryOptions),
    async begin(work) {
      await connection.unsafe("BEGIN");
      try {
        const result = await work(client);
        await connection.unsafe("COMMIT");
        return result;
      } catch (error) {
        await connection.unsafe("ROLLBACK");
        throw error;
      }
    },
  };
  return client;
}
