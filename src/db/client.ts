// Opens the database: PostgreSQL through a postgres.js pool when a URL is
// given, otherwise an embedded PGlite database persisted on disk. Both are
// driven through the same Drizzle API, so nothing above this module knows
// which one it has.
import { mkdir } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import type { PgDatabase, PgQueryResultHKT } from "drizzle-orm/pg-core";
import { drizzle as drizzlePglite } from "drizzle-orm/pglite";
import { drizzle as drizzlePostgres } from "drizzle-orm/postgres-js";
import postgres from "postgres";
import { instrumentedSql, type QueryGauge } from "./query-signal";
import * as schema from "./schema";

export type Schema = typeof schema;
/** The Drizzle database, whichever backend is behind it. */
export type Database = PgDatabase<PgQueryResultHKT, Schema>;

export type Backend = "postgres" | "pglite";

export interface DatabaseHandle {
  readonly backend: Backend;
  readonly db: Database;
  /**
   * Subscribes to NOTIFY on a channel. Resolves once the LISTEN is in place
   * and returns the function that ends it.
   */
  listen(channel: string, onPayload: (payload: string) => void): Promise<() => Promise<void>>;
  /** Runs `work` while this process holds the session-level advisory lock `key`. */
  withAdvisoryLock<T>(key: number, work: () => Promise<T>): Promise<T>;
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
  /** Called with the SQL of every query Drizzle sends (tracing, tests). */
  readonly onQuery?: (query: string) => void;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<DatabaseHandle> {
  const onQuery = options.onQuery;
  const drizzleConfig: DrizzleConfig = { schema, logger: onQuery === undefined ? false : { logQuery: (query) => onQuery(query) } };
  return options.url === undefined
    ? openPglite(options.dataDir, drizzleConfig)
    : openPostgres(options.url, options.poolMax ?? 10, drizzleConfig);
}

type DrizzleConfig = { schema: Schema; logger: false | { logQuery(query: string): void } };

async function openPostgres(url: string, poolMax: number, drizzleConfig: DrizzleConfig): Promise<DatabaseHandle> {
  const sql = postgres(url, {
    max: poolMax,
    // Server notices (e.g. "relation already exists, skipping") are not ours to print.
    onnotice: () => undefined,
    connection: { application_name: "product-service" },
  });
  const queries: QueryGauge = { active: 0 };
  // Connections set aside from the pool: LISTEN's, and the migration lock's.
  let held = 0;
  const db = drizzlePostgres(instrumentedSql(sql, queries), drizzleConfig) as unknown as Database;
  return {
    backend: "postgres",
    db,
    async listen(channel, onPayload) {
      // postgres.js keeps one dedicated connection for LISTEN and re-issues
      // it after a reconnect, so a restarted database is heard again.
      const subscription = await sql.listen(channel, onPayload);
      held += 1;
      return async () => {
        held -= 1;
        await subscription.unlisten();
      };
    },
    async withAdvisoryLock(key, work) {
      // A session-level lock belongs to one connection: reserve it for the
      // whole span so the unlock runs where the lock was taken.
      const connection = await sql.reserve();
      held += 1;
      try {
        await connection`SELECT pg_advisory_lock(${key})`;
        try {
          return await work();
        } finally {
          await connection`SELECT pg_advisory_unlock(${key})`;
        }
      } finally {
        connection.release();
        held -= 1;
      }
    },
    async ping() {
      await sql`SELECT 1`;
    },
    connectionsInUse() {
      return Math.min(queries.active, poolMax) + held;
    },
    async close() {
      await sql.end({ timeout: 5 });
    },
  };
}

async function openPglite(dataDir: string, drizzleConfig: DrizzleConfig): Promise<DatabaseHandle> {
  if (!dataDir.startsWith("memory://")) await mkdir(dataDir, { recursive: true });
  const client = await PGlite.create(dataDir);
  const db = drizzlePglite(client, drizzleConfig) as unknown as Database;
  return {
    backend: "pglite",
    db,
    async listen(channel, onPayload) {
      return client.listen(channel, onPayload);
    },
    async withAdvisoryLock(key, work) {
      // PGlite is one connection in this process; the lock still orders
      // concurrent callers within it.
      await client.query("SELECT pg_advisory_lock($1)", [key]);
      try {
        return await work();
      } finally {
        await client.query("SELECT pg_advisory_unlock($1)", [key]);
      }
    },
    async ping() {
      await client.query("SELECT 1");
    },
    connectionsInUse() {
      return 1;
    },
    async close() {
      await client.close();
    },
  };
}
