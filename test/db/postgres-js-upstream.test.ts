// What this project relies on postgres.js for, tested on the driver alone
// (no code of ours between), against a database of the test's own. Each block
// names the upstream issue or change it pins down: a block that fails after an
// upgrade says which assumption in src/db/ no longer holds.
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import postgres from "postgres";
import { createPostgresDatabase, describeOnPostgres, POSTGRES_ADMIN_URL } from "../support/database";
import { startTcpProxy, type TcpProxy } from "../support/tcp-proxy";
import { until } from "../support/wait";

describeOnPostgres("postgres.js", () => {
  let database: { url: string; drop(): Promise<void> };
  let proxy: TcpProxy;
  let proxiedUrl: string;

  beforeAll(async () => {
    database = await createPostgresDatabase(POSTGRES_ADMIN_URL as string);
    const target = new URL(database.url);
    proxy = await startTcpProxy({ host: target.hostname, port: Number(target.port || 5432) });
    target.host = `127.0.0.1:${proxy.port}`;
    proxiedUrl = target.toString();
  });
  afterAll(async () => {
    await proxy.close();
    await database.drop();
  });

  const open = (options: postgres.Options<Record<string, postgres.PostgresType>> = {}, url = database.url) =>
    postgres(url, { max: 1, onnotice: () => undefined, ...options });

  // porsager/postgres#1119, #1181: after a query failed once some of its rows
  // had arrived, the next query on that connection resolved with that many
  // empty slots before its own rows (3.4.9). src/db once ran a reset
  // statement on such a connection before handing it on.
  test("a query that fails after some rows arrived leaves nothing behind for the next one (#1119, #1181)", async () => {
    const sql = open();
    try {
      // Three rows, then a division by zero.
      await expect(sql`SELECT i, 1 / (4 - i) AS boom FROM generate_series(1, 10) i`).rejects.toMatchObject({
        code: "22012",
      });
      const rows = await sql`SELECT x FROM generate_series(1, 5) x`;
      expect([...rows]).toEqual([1, 2, 3, 4, 5].map((x) => ({ x })));
    } finally {
      await sql.end();
    }
  });

  // 4.x: query.cancel() resolves once the cancel request was delivered
  // (PostgreSQL closes the cancel connection after signalling the backend).
  // A reserved connection that runs nothing until then cannot have its next
  // statement stopped by a cancel meant for the one before. 3.4.9's cancel()
  // returned nothing to wait on, and src/db read its private `canceller`.
  test("cancel() resolves once the cancel was delivered, so the next statement on the connection is safe", async () => {
    const sql = open({}, proxiedUrl);
    const reserved = await sql.reserve();
    try {
      // The cancel connection reaches PostgreSQL 150 ms late; cancel() waits for it.
      proxy.delayNewConnections(150);
      const first = reserved`SELECT pg_sleep(1)`.execute();
      const settled = first.then(
        () => "done",
        (error: { code?: string }) => error.code,
      );
      // The cancel is asked for while the statement runs.
      const observer = open();
      try {
        await until(
          async () =>
            (
              await observer`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep'`
            ).length > 0,
          5_000,
          "pg_sleep running",
        );
      } finally {
        await observer.end();
      }
      const cancelled = Date.now();
      await first.cancel();
      expect(Date.now() - cancelled).toBeGreaterThanOrEqual(100);
      expect(await settled).toBe("57014");
      const [row] = await reserved`SELECT pg_sleep(0.3), 1 AS one`;
      expect(row).toMatchObject({ one: 1 });
    } finally {
      proxy.delayNewConnections(0);
      reserved.release();
      await sql.end();
    }
  });

  test("no cancel request is sent for a query whose result has arrived", async () => {
    const sql = open({}, proxiedUrl);
    try {
      const query = sql`SELECT 1 AS one`.execute();
      await query;
      const before = proxy.accepted;
      await query.cancel();
      expect(proxy.accepted).toBe(before);
    } finally {
      await sql.end();
    }
  });

  // porsager/postgres#1173: a COPY FROM STDIN the server refused never
  // settled its writable (3.4.9), so a transaction around it neither
  // committed nor rolled back. BatchCreateProducts writes with COPY inside
  // its transaction, which relies on this.
  test("a refused COPY FROM STDIN settles, and its transaction rolls back (#1173)", async () => {
    const sql = open();
    try {
      await sql`CREATE TABLE copied (n int NOT NULL)`;
      let outcome: unknown = "pending";
      const copy = sql
        .begin(async (tx) => {
          const writable = await tx`COPY copied (n) FROM STDIN`.writable();
          await pipeline(Readable.from(["1\n2\n", "not a number\n"]), writable);
        })
        .then(
          () => (outcome = "committed"),
          (error: { code?: string }) => (outcome = error.code),
        );
      // Bounded: an outcome that never comes is the defect.
      await until(() => outcome !== "pending", 10_000);
      await copy;
      expect(outcome).toBe("22P02");
      expect(await sql`SELECT count(*)::int AS n FROM copied`).toEqual([{ n: 0 }]);
    } finally {
      await sql.end({ timeout: 0 });
    }
  });
});
