// Drizzle over connections of our choosing. Drizzle's postgres-js driver
// calls three things on the client it is given: `options` (the driver's
// parsed options, whose type parsers it adjusts), `unsafe(text, params,
// { prepare })` (then `.values()` on what that returns, and awaits it), and
// `begin` for transactions. So a client of this shape can send Drizzle's
// statements to a reserved connection, a transaction, or a connection
// reserved per statement, while they are built in one place.
import type { SQL } from "drizzle-orm";
import { drizzle } from "drizzle-orm/postgres-js";
import type postgres from "postgres";
import type { ISql, PendingQuery, Row, Sql } from "postgres";
import type { CallConnection, Database, DrizzleConfig, PreparedStatement } from "./handle";
import { rowsOf } from "./rows";

/** What Drizzle awaits: a query, which may be asked for rows as arrays first. */
export interface DriverQuery extends PromiseLike<unknown> {
  values(): PromiseLike<unknown>;
}

export interface DriverClient {
  readonly options: Sql["options"];
  unsafe(query: string, params?: unknown[], options?: { prepare?: boolean }): DriverQuery;
  begin?<T>(work: (client: DriverClient) => Promise<T>): Promise<T>;
  /** Not Drizzle's: CallConnection.copyIn. */
  copyIn?(statement: string, chunks: Iterable<string>): Promise<void>;
}

export type AnyQuery = PendingQuery<Row[]>;

/** Sends a statement on a postgres.js connection (a pool, a reserved connection or a transaction). */
export function sendOn(connection: ISql, query: string, params?: unknown[], options?: { prepare?: boolean }): AnyQuery {
  return connection.unsafe(query, params as postgres.ParameterOrJSON<never>[] | undefined, options);
}

export function drizzleOver(client: DriverClient, config: DrizzleConfig): Database {
  return drizzle(client as unknown as Sql, config);
}

/**
 * Statements prepared once run on whichever connection executes them:
 * Drizzle hands a prepared statement's query to its client synchronously
 * inside execute(), so the router sends it where `execute` points it then.
 */
export function createStatementRouter(options: Sql["options"], config: DrizzleConfig) {
  let routedTo: DriverClient | undefined;
  const router: DriverClient = {
    options,
    unsafe(query, params, queryOptions) {
      if (routedTo === undefined) throw new Error("a prepared statement ran outside a call connection");
      return routedTo.unsafe(query, params, queryOptions);
    },
  };
  const routed = drizzleOver(router, config);

  return {
    /** The database `DatabaseHandle.prepare` builds statements on. */
    db: routed,
    /** A call connection over `client`, which runs prepared statements there too. */
    connectionOver: (client: DriverClient): CallConnection => {
      let db: Database | undefined;
      return {
        get db() {
          return (db ??= drizzleOver(client, config));
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
        copyIn: client.copyIn?.bind(client),
      };
    },
  };
}
