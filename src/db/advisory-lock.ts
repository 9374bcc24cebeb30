// A session-level advisory lock, held while `work` runs. It belongs to one
// server session, so it is taken on a session of its own over the direct
// URL (through a transaction pooler, the lock and its unlock could land on
// different server sessions, or outlive the work on a session lent to
// someone else), and the work runs on that same session, so no pool
// connection is needed besides.
import { drizzle } from "drizzle-orm/postgres-js";
import type { Database, DrizzleConfig } from "./handle";
import { openSession } from "./postgres-sessions";

export async function withAdvisoryLock<T>(
  url: string,
  key: number,
  config: DrizzleConfig,
  work: (db: Database) => Promise<T>,
): Promise<T> {
  const session = openSession(url);
  try {
    await session`SELECT pg_advisory_lock(${key}::bigint)`;
    try {
      // One connection (max: 1), so a transaction the work opens is on the locked session.
      return await work(drizzle(session, config));
    } finally {
      await session`SELECT pg_advisory_unlock(${key}::bigint)`;
    }
  } finally {
    await session.end();
  }
}
