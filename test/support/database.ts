// The databases integration tests run against: an in-memory PGlite always,
// and a PostgreSQL database of their own when TEST_DATABASE_URL is set.
// Each opened database is new and migrated, and dropped again on close.
import { randomBytes } from "node:crypto";
import postgres from "postgres";
import { openDatabase, type Backend, type DatabaseHandle } from "../../src/db/client";
import { migrateDatabase } from "../../src/db/migrate";
import { startTcpProxy, type TcpProxy } from "./tcp-proxy";

export interface TestDatabase {
  readonly handle: DatabaseHandle;
  /** The URL of the PostgreSQL database, for tests that open more connections to it. */
  readonly url: string | undefined;
  close(): Promise<void>;
}

export interface TestOpenOptions {
  /** Sees the SQL of every query Drizzle sends. */
  readonly onQuery?: (query: string) => void;
  /** PostgreSQL's pool size (PGlite always has one connection). */
  readonly poolMax?: number;
}

export interface TestBackend {
  readonly name: Backend;
  open(options?: TestOpenOptions): Promise<TestDatabase>;
}

const TEST_DATABASE_URL = process.env.TEST_DATABASE_URL;

const pglite: TestBackend = {
  name: "pglite",
  async open(options = {}) {
    const handle = await openDatabase({ dataDir: "memory://", ...options });
    await migrateDatabase(handle);
    return { handle, url: undefined, close: () => handle.close() };
  },
};

/** A fresh database on the PostgreSQL server at TEST_DATABASE_URL. */
export async function createPostgresDatabase(adminUrl: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `product_test_${randomBytes(6).toString("hex")}`;
  const admin = postgres(adminUrl, { max: 1, onnotice: () => undefined });
  try {
    await admin.unsafe(`CREATE DATABASE ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  return {
    url: url.toString(),
    async drop() {
      const dropper = postgres(adminUrl, { max: 1, onnotice: () => undefined });
      try {
        await dropper.unsafe(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
      } finally {
        await dropper.end();
      }
    },
  };
}

const postgresBackend: TestBackend = {
  name: "postgres",
  async open(options = {}) {
    const database = await createPostgresDatabase(TEST_DATABASE_URL as string);
    const handle = await openDatabase({ url: database.url, dataDir: "unused", ...options });
    await migrateDatabase(handle);
    return {
      handle,
      url: database.url,
      async close() {
        await handle.close();
        await database.drop();
      },
    };
  },
};

/** Every backend this run tests against; for `describe.each`. */
export const TEST_BACKENDS: readonly TestBackend[] =
  TEST_DATABASE_URL === undefined ? [pglite] : [pglite, postgresBackend];

/** The PostgreSQL server's admin URL, or undefined when TEST_DATABASE_URL is unset. */
export const POSTGRES_ADMIN_URL: string | undefined = TEST_DATABASE_URL;

/**
 * A describe block for tests that need a real PostgreSQL server (a TCP proxy
 * in front of it, a second session holding a lock). Without TEST_DATABASE_URL
 * the block is reported as skipped, never silently left out: jest's
 * `describe.each([])` throws rather than skipping.
 */
export function describeOnPostgres(title: string, body: (backend: TestBackend) => void): void {
  if (TEST_DATABASE_URL === undefined)
    describe.skip(`${title} on postgres (TEST_DATABASE_URL is unset)`, () => body(postgresBackend));
  else describe(`${title} on postgres`, () => body(postgresBackend));
}

/** A fresh database on the PostgreSQL server, reached through a TCP proxy the test owns (for cutting, slowing, delaying). */
export interface ProxiedDatabase extends TestDatabase {
  readonly url: string;
  readonly proxy: TcpProxy;
  /** The database's own URL, past the proxy: for changes made while the server is cut off. */
  readonly directUrl: string;
}

export async function openBehindProxy(options: { poolMax?: number } = {}): Promise<ProxiedDatabase> {
  const created = await createPostgresDatabase(TEST_DATABASE_URL as string);
  const target = new URL(created.url);
  const proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
  target.host = `127.0.0.1:${proxy.port}`;
  const handle = await openDatabase({ url: target.toString(), dataDir: "unused", ...options });
  await migrateDatabase(handle);
  return {
    handle,
    url: target.toString(),
    proxy,
    directUrl: created.url,
    async close() {
      await handle.close();
      await proxy.close();
      await created.drop();
    },
  };
}
