// The embedded database: PGlite, PostgreSQL compiled to WebAssembly, running
// in this process on one connection. Its queries run on this thread one at a
// time and cannot be interrupted, so a call's work stops between statements:
// nothing starts once the call's signal has aborted, and a transaction whose
// call was stopped rolls back instead of committing.
import { mkdir } from "node:fs/promises";
import { PGlite } from "@electric-sql/pglite";
import { drizzle } from "drizzle-orm/pglite";
import type { CallConnection, Database, DatabaseHandle, DrizzleConfig } from "./handle";
import { lockDataDir } from "./data-dir-lock";
import { rowsOf } from "./rows";

export async function openPglite(dataDir: string, drizzleConfig: DrizzleConfig): Promise<DatabaseHandle> {
  const inMemory = dataDir.startsWith("memory://");
  if (!inMemory) await mkdir(dataDir, { recursive: true });
  const unlock = inMemory ? () => Promise.resolve() : await lockDataDir(dataDir);
  const client = await PGlite.create(dataDir).catch(async (error: unknown) => {
    await unlock();
    throw error;
  });
  const db = drizzle(client, drizzleConfig) as unknown as Database;
  const connectionOf = (database: Database): CallConnection => ({
    db: database,
    execute: (statement, values) => statement.execute(values),
    rows: async (query) => rowsOf(await database.execute(query)),
  });
  const shared = connectionOf(db);
  // What built each prepared statement, so a transaction can build it again on
  // its own connection: one prepared on the shared database would wait for
  // the transaction to end (PGlite is one connection, and the transaction holds it).
  const builders = new WeakMap<object, (db: Database) => unknown>();
  return {
    backend: "pglite",
    db,
    async withConnection(scope, work) {
      scope.signal.throwIfAborted();
      return work(shared);
    },
    prepare(build) {
      const statement = build(db);
      builders.set(statement as object, build);
      return statement;
    },
    async transaction(scope, work) {
      scope.signal.throwIfAborted();
      return db.transaction(async (tx) => {
        const txDb = tx as unknown as Database;
        const result = await work({
          db: txDb,
          rows: async (query) => rowsOf(await txDb.execute(query)),
          execute: (statement, values) => {
            const build = builders.get(statement);
            if (build === undefined) return Promise.reject(new Error("execute() takes statements made by prepare()"));
            return (build(txDb) as typeof statement).execute(values);
          },
        });
        // A statement blocks this thread while it runs, so a cancel that
        // arrived meanwhile is still queued: two check phases make sure one
        // poll phase has run, and it has been heard, before COMMIT.
        await new Promise<void>((resolve) => setImmediate(resolve));
        await new Promise<void>((resolve) => setImmediate(resolve));
        scope.signal.throwIfAborted();
        return result;
      });
    },
    async listen(channel, onPayload, onListening) {
      // In this process: it cannot be cut off, and it hears from the start.
      const unlisten = await client.listen(channel, onPayload);
      onListening?.(true);
      return unlisten;
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
