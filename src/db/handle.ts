// What the data layer hands the layers above it, whichever backend is behind
// it: the Drizzle database, a call's connection, and the handle with its
// connections, transactions, LISTEN and locks. Both backends (postgres.ts,
// pglite.ts) implement it; client.ts opens one.
import type { SQL } from "drizzle-orm";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";

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
  /**
   * Streams rows, in COPY's text format, into `statement` (a `COPY … FROM
   * STDIN`): the fastest way to write many rows. Absent where the driver has
   * no COPY (PGlite). Resolves once the server has taken every row.
   */
  readonly copyIn?: (statement: string, chunks: Iterable<string>) => Promise<void>;
}

/** How the work of one call may be stopped: its signal, and the time it has left. */
export interface WorkScope {
  readonly signal: AbortSignal;
  /** ms before the call's deadline; undefined when it has none. */
  remainingMs(): number | undefined;
}

/** Tells whether NOTIFYs are being heard, and when not, why (for the log). */
export type ListeningReport = (listening: boolean, reason?: string) => void;

export interface DatabaseHandle {
  readonly backend: Backend;
  /**
   * For work that belongs to no one call (health checks, watchers catching
   * up, the key sweep, start-up reads). On PostgreSQL each statement runs on
   * a connection of its own and is cancelled once it has run for the
   * statement bound (OpenDatabaseOptions.statementTimeoutMs).
   */
  readonly db: Database;
  /**
   * Runs one call's work on a connection no other work shares. When the
   * call's signal aborts, the statement running is cancelled, and only it:
   * see postgres.ts for why a cancel cannot reach another caller's query.
   * Each statement commits on its own; nothing is sent once the signal has
   * aborted. A statement sent whose answer cannot come (the connection was
   * lost, or it could not be cancelled) fails with
   * StatementOutcomeUnknownError (statement-errors.ts): it may have committed.
   */
  withConnection<T>(scope: WorkScope, work: (connection: CallConnection) => Promise<T>): Promise<T>;
  /**
   * As withConnection, in one transaction that commits only if the signal has
   * not aborted by the time `work` is done; otherwise it rolls back and
   * rejects with the signal's reason. On PostgreSQL the transaction's
   * `statement_timeout` is the time the call has left, so the server stops it
   * even when no cancel can reach it. Fails with StatementOutcomeUnknownError
   * only when the COMMIT was sent and its answer cannot come.
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
   * and it is known whether it hears (`onListening` has been called once by
   * then), to the function that ends it. `onListening(false, why)` whenever
   * it stops hearing; it is re-established by itself, and then
   * `onListening(true)`: notifications sent in between are lost. On
   * PostgreSQL it proves that it hears with a heartbeat NOTIFY on a channel
   * of its own (postgres-listener.ts).
   */
  listen(
    channel: string,
    onPayload: (payload: string) => void,
    onListening?: ListeningReport,
  ): Promise<() => Promise<void>>;
  /** Runs `work` on one session while it holds the session-level advisory lock `key` (on PostgreSQL, over the direct URL). */
  withAdvisoryLock<T>(key: number, work: (db: Database) => Promise<T>): Promise<T>;
  /** A cheap round trip, for health checks. */
  ping(): Promise<void>;
  /** Connections busy with a query or held by the service (PGlite: its one). */
  connectionsInUse(): number;
  close(): Promise<void>;
}

export type DrizzleConfig = { logger: false | { logQuery(query: string): void } };
