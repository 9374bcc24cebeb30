// Cancelling one call's query on PostgreSQL stops that query and nothing
// else, and leaves its connection fit for the next caller, on a pool of one
// connection, where every caller shares it. See src/db/postgres.ts.
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { rowsOf } from "../../src/db/rows";
import type { WorkScope } from "../../src/db/client";
import type { DatabaseHandle } from "../../src/db/client";
import { describeOnPostgres, openBehindProxy, type ProxiedDatabase, type TestDatabase } from "../support/database";
import type { TcpProxy } from "../support/tcp-proxy";
import { until } from "../support/wait";

function scopeOf(signal: AbortSignal): WorkScope {
  return { signal, remainingMs: () => undefined };
}

const unbounded = scopeOf(new AbortController().signal);

describeOnPostgres("a call's query on a pool of one connection", (backend) => {
  let database: TestDatabase;

  beforeAll(async () => {
    database = await backend.open({ poolMax: 1 });
  });
  afterAll(() => database.close());

  async function series(n: number): Promise<unknown[]> {
    return rowsOf(await database.handle.db.execute(sql`SELECT x FROM generate_series(1, ${n}::int) x`));
  }

  test("a statement that fails after some rows arrived leaves no stale rows for the next query", async () => {
    // Three rows, then division by zero: postgres.js 3.4.9 kept counting from 3 on that connection (#1119, #1181).
    await expect(
      database.handle.withConnection(unbounded, ({ db }) =>
        db.execute(sql`SELECT i, 1 / (4 - i) AS boom FROM generate_series(1, 10) i`),
      ),
    ).rejects.toMatchObject({ cause: { code: "22012" } });
    expect(await series(5)).toEqual([1, 2, 3, 4, 5].map((x) => ({ x })));
  });

  test("a statement cancelled while its rows stream in is stopped, and the next 1,000 queries all answer correctly", async () => {
    const controller = new AbortController();
    const started = Date.now();
    // Rows of 20 kB fill PostgreSQL's send buffer, so the first rows reach the client before row 5 sleeps.
    const slow = database.handle.withConnection(scopeOf(controller.signal), ({ db }) =>
      db.execute(
        sql`SELECT i, repeat('x', 20000) AS pad, pg_sleep(CASE WHEN i = 5 THEN 30 ELSE 0 END) FROM generate_series(1, 10) i`,
      ),
    );
    // Cancelled once its backend sleeps at row 5, with rows 1-4 sent.
    const observer = postgres(database.url as string, { max: 1, onnotice: () => undefined });
    try {
      await until(
        async () =>
          (await observer`SELECT 1 FROM pg_stat_activity WHERE datname = current_database() AND wait_event = 'PgSleep'`)
            .length > 0,
      );
    } finally {
      await observer.end();
    }
    controller.abort(new Error("call cancelled"));
    await expect(slow).rejects.toThrow();
    expect(Date.now() - started).toBeLessThan(5_000);
    for (let i = 1; i <= 1_000; i += 1) {
      const n = (i % 7) + 1;
      const rows =
        i % 2 === 0
          ? await series(n)
          : rowsOf(
              await database.handle.withConnection(unbounded, ({ db }) =>
                db.execute(sql`SELECT x FROM generate_series(1, ${n}::int) x`),
              ),
            );
      expect(rows).toHaveLength(n);
      expect(rows[0]).toEqual({ x: 1 });
    }
  });
});

describeOnPostgres("a cancel that arrives late", () => {
  // The cancel travels on a connection of its own; through this proxy it
  // reaches PostgreSQL 150 ms late, while the statement it was sent for has
  // long finished: the race the cancel protocol allows, made certain.
  let proxy: TcpProxy;
  let handle: DatabaseHandle;
  let database: ProxiedDatabase;

  beforeAll(async () => {
    database = await openBehindProxy({ poolMax: 1 });
    ({ proxy, handle } = database);
    await handle.ping(); // the pool's one connection is open before connections are slowed
  });
  afterAll(() => database.close());

  test("never stops the next caller's query on the same connection", async () => {
    proxy.delayNewConnections(150);
    try {
      const controller = new AbortController();
      const first = handle
        .withConnection(scopeOf(controller.signal), ({ db }) => db.execute(sql`SELECT pg_sleep(0.05)`))
        .catch(() => undefined);
      // Queued behind the first for the pool's only connection.
      const second = handle.db.execute(sql`SELECT pg_sleep(0.3), 1 AS one`);
      // Not a wait: aborts while the 50 ms statement most likely runs; were it
      // not yet sent, there is no cancel at all, and the check still holds.
      setTimeout(() => controller.abort(new Error("call cancelled")), 10);
      await first;
      expect(rowsOf(await second)).toEqual([{ pg_sleep: "", one: 1 }]);
    } finally {
      proxy.delayNewConnections(0);
    }
  });
});
