// Opens the database: PostgreSQL through a postgres.js pool when a URL is
// given (postgres.ts), otherwise an embedded PGlite database persisted on
// disk (pglite.ts). Both are driven through the same Drizzle API and the same
// handle, so nothing above this folder knows which one it has.
import type { SQL } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { openPglite } from "./pglite";
import { openPostgres } from "./postgres";

/** The Drizzle database, whichever backend is behind it. */
export type Database = PgDatabase<PgQueryResultHKT>;

export type Backend = "postgres" | "pglite";

/** A statement built once (Drizzle's `.prepare()`), run with its placeholders' values. */
export interface PreparedStatement<Result> {
  execute(values?: Record<string, unknown>): Promise<Result>;
}

/** One call's connection, as withConnection and transaction hand it over. */
export interface CallConnection {
  /** Drizzle on this connection, for queries built on the spot. */
  readonly db: Database;
  /** Runs a statement made by DatabaseHandle.prepare on this connection. */
  execute<Result>(statement: PreparedStatement<Result>, values?: Record<string, unknown>): Promise<Result>;
  /** The rows of raw SQL (Drizzle's `sql`), whichever driver runs it. Values come as the driver gives them. */
  rows<Row>(query: SQL): Promise<Row[]>;
}

/** How the work of one call may be stopped: its signal, and the time it has left. */
export interface WorkScope {
  readonly signal: AbortSignal;
  /** ms before the call's deadline; undefined when it has none. */
  remainingMs(): number | undefined;
}

export interface DatabaseHandle {
  readonly backend: Backend;
  /**
   * The shared pool, for work that belongs to no one call (reads coalesced
   * across calls, health checks). Nothing cancels its queries: on PostgreSQL
   * every pooled session's `statement_timeout` bounds them.
   */
  readonly db: Database;
  /**
   * Runs one call's work on a connection no other work shares. When the
   * call's signal aborts, the statement running is cancelled, and only it:
   * see postgres.ts for why a cancel cannot reach another caller's query.
   * Each statement commits on its own; nothing is sent once the signal has aborted.
   */
  withConnection<T>(scope: WorkScope, work: (connection: CallConnection) => Promise<T>): Promise<T>;
  /**
   * As withConnection, in one transaction that commits only if the signal has
   * not aborted by the time `work` is done; otherwise it rolls back and
   * rejects with the signal's reason. On PostgreSQL the transaction's
   * `statement_timeout` is the time the call has left.
   */
  transaction<T>(scope: WorkScope, work: (tx: CallConnection) => Promise<T>): Promise<T>;
  /**
   * Builds a statement once, for CallConnection.execute: Drizzle otherwise
   * rebuilds a statement's SQL on every call, which costs more CPU than its
   * round trip. `build` gets a Drizzle database to call `.prepare()` on.
   */
  prepare<Statement>(build: (db: Database) => Statement): Statement;
  /**
   * Subscribes to NOTIFY on a channel. Resolves once the LISTEN is in place
   * and returns the function that ends it. When the connection behind it is
   * lost, `onListening(false)`; it is re-established by itself, and then
   * `onListening(true)`: notifications sent in between are lost.
   * (On PostgreSQL, calls fail at once with UNAVAILABLE while the database is
   * known to be unreachable: see reachability.ts.)
   */
  listen(
    channel: string,
    onPayload: (payload: string) => void,
    onListening?: (listening: boolean) => void,
  ): Promise<() => Promise<void>>;
  /** Runs `work` on one connection while it holds the session-level advisory lock `key`. */
  withAdvisoryLock<T>(key: number, work: (db: Database) => Promise<T>): Promise<T>;
  /** A cheap round trip, for health checks. */
  ping(): Promise<void>;
  /** Connections busy with a query or held by the service (PGlite: its one). */
  connectionsInUse(): number;
  close(): Promise<void>;
}

export interface OpenDatabaseOptions {
  /** postgres:// URL; when absent, PGlite under dataDir. */
  readonly url?: string | undefined;
  /** PGlite's data directory, or "memory://" for a throwaway in-memory database. */
  readonly dataDir: string;
  readonly poolMax?: number;
  /**
   * PostgreSQL's statement_timeout on pooled sessions: the backstop for
   * queries nothing cancels. Defaults to 5 minutes (MAX_DEADLINE_MS's default).
   */
  readonly statementTimeoutMs?: number;
  /** Called with the SQL of every query Drizzle sends (tracing, tests). */
  readonly onQuery?: (query: string) => void;
}

export type DrizzleConfig = { logger: false | { logQuery(query: string): void } };

export async function openDatabase(options: OpenDatabaseOptions): Promise<DatabaseHandle> {
  const onQuery = options.onQuery;
  const drizzleConfig: DrizzleConfig = {
    logger: onQuery === undefined ? false : { logQuery: (query) => onQuery(query) },
  };
  return options.url === undefined
    ? openPglite(options.dataDir, drizzleConfig)
    : openPostgres({
        url: options.url,
        poolMax: options.poolMax ?? 10,
        statementTimeoutMs: options.statementTimeoutMs ?? 300_000,
        drizzleConfig,
      });
}
