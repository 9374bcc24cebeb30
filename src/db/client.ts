// Opens the database: PostgreSQL through a postgres.js pool when a URL is
// given (postgres.ts), otherwise an embedded PGlite database persisted on
// disk (pglite.ts). Both are driven through the same Drizzle API and the same
// handle, so nothing above this folder knows which one it has.
import { DATABASE_DEFAULTS } from "../config";
import type { DatabaseHandle, DrizzleConfig } from "./handle";
import { openPglite } from "./pglite";
import { openPostgres } from "./postgres";

export type * from "./handle";

export interface OpenDatabaseOptions {
  /** postgres:// URL of the pool (a transaction pooler may be behind it); when absent, PGlite under dataDir. */
  readonly url?: string | undefined;
  /**
   * postgres:// URL of a session of the service's own, for what needs one:
   * LISTEN, and the migrations' advisory lock. Defaults to `url`.
   */
  readonly directUrl?: string | undefined;
  /** PGlite's data directory, or "memory://" for a throwaway in-memory database. */
  readonly dataDir: string;
  /** Most connections in the pool (LISTEN and cancel requests have their own besides). */
  readonly poolMax?: number;
  /** Named prepared statements; off for a pooler that does not keep them across transactions. */
  readonly prepare?: boolean;
  /**
   * The longest any statement may run: a call's statements are bounded by
   * its deadline, the others (and calls without a deadline) by this.
   */
  readonly statementTimeoutMs?: number;
  /** Called with the SQL of every query Drizzle sends (tracing, tests). */
  readonly onQuery?: (query: string) => void;
}

export async function openDatabase(options: OpenDatabaseOptions): Promise<DatabaseHandle> {
  const onQuery = options.onQuery;
  const drizzleConfig: DrizzleConfig = {
    logger: onQuery === undefined ? false : { logQuery: (query) => onQuery(query) },
  };
  return options.url === undefined
    ? openPglite(options.dataDir, drizzleConfig)
    : openPostgres({
        url: options.url,
        directUrl: options.directUrl ?? options.url,
        poolMax: options.poolMax ?? DATABASE_DEFAULTS.poolMax,
        prepare: options.prepare ?? DATABASE_DEFAULTS.prepare,
        statementTimeoutMs: options.statementTimeoutMs ?? DATABASE_DEFAULTS.statementTimeoutMs,
        drizzleConfig,
      });
}
