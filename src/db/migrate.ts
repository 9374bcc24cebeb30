// Applies the SQL migrations in drizzle/ at start-up. Replicas that start
// together must not race: the migration runs under a Postgres advisory lock,
// so one replica migrates and the others wait, then find nothing to do.
import path from "node:path";
import { migrate as migratePglite } from "drizzle-orm/pglite/migrator";
import type { PgliteDatabase } from "drizzle-orm/pglite";
import { migrate as migratePostgres } from "drizzle-orm/postgres-js/migrator";
import type { PostgresJsDatabase } from "drizzle-orm/postgres-js";
import type { DatabaseHandle } from "./client";

/** Arbitrary but fixed: every replica must use the same key. */
const MIGRATION_LOCK_KEY = 0x70726f64; // "prod"

/** drizzle/ at the package root, from src/db (ts) or dist/src/db (compiled). */
export const MIGRATIONS_FOLDER = path.resolve(
  __dirname,
  __dirname.includes(`${path.sep}dist${path.sep}`) ? "../../../drizzle" : "../../drizzle",
);

export async function migrateDatabase(handle: DatabaseHandle, migrationsFolder = MIGRATIONS_FOLDER): Promise<void> {
  // The migration runs on the session that holds the lock (on PostgreSQL, one of its own over the direct URL).
  await handle.withAdvisoryLock(MIGRATION_LOCK_KEY, async (db) => {
    if (handle.backend === "pglite") {
      await migratePglite(db as unknown as PgliteDatabase, { migrationsFolder });
    } else {
      await migratePostgres(db as unknown as PostgresJsDatabase, { migrationsFolder });
    }
  });
}
