// The embedded database: PGlite, PostgreSQL compiled to WebAssembly, running
// in this process on one connection. Its queries run on this thread one at a
// time and cannot be interrupted, so a call's work stops between statements:
// nothing starts once the call's signal has aborted, and a transaction whose
// call was stopped rolls back instead of committing.
import { mkdir } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import { drizzle } from "drizzle-orm/pglite";
import type { CallConnection, Database, DatabaseHandle, DrizzleConfig } from "./client";
import { lockDataDir } from "./data-dir-lock";

export async function openPglite(dataDir: string, drizzleConfig: DrizzleConfig): Promise<DatabaseHandle> {
  const inMemory = dataDir.startsWith("memory://");
  if (!inMemory) await mkdir(dataDir, { recursive: true });
  const unlock = inMemory ? async () => undefined : await lockDataDir(dataDir);
  const client = await PGlite.create(dataDir).catch(async (error: unknown) => {
    await unlock();
    throw error;
  });
  const db = drizzle(client, drizzleConfig) as unknown as Database;
  const connectionOf = (database: Database): CallConnection => ({
    db: database,
    execute: (statement, values) => statement.execute(values),
  });
  const shared = connectionOf(db);
  return {
    backend: "pglite",
    db,
    async withConnection(scope, work) {
      scope.signal.throwIfAborted();
      return work(shared);
    },
    prepare(build) {
      return build(db);
    },
    async transaction(scope, work) {
      scope.signal.throwIfAborted();
      return db.transaction(async (tx) => {
        // A statement prepared on the shared database would wait for this
        // transaction to end: PGlite is one connection, and the transaction holds it.
        const result = await work({ db: tx as unknown as Database, execute: () => Promise.reject(new Error("prepared statements cannot run in a PGlite transaction")) });
        // A statement blocks this thread while it runs, so a cancel that
        // arrived meanwhile is still queued: two check phases make sure one
        // poll phase has run, and it has been heard, before COMMIT.
        await new Promise<void>((resolve) => setImmediate(resolve));
        await new Promise<void>((resolve) => setImmediate(resolve));
        scope.signal.throwIfAborted();
        return result;
      });
    },
    async listen(channel, onPayload) {
      // In this process: it cannot be cut off.
      return client.listen(channel, onPayload);
    },
    async withAdvisoryLock(key, work) {
      // One connection in this process; the lock still orders concurrent callers within it.
      await client.query("SELECT pg_advisory_lock($1)", [key]);
      try {
        return await work(db);
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
      await unlock();
    },
  };
}
