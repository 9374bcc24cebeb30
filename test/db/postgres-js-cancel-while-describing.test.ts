// The postgres.js 4.2.0 defect src/db/cancel-while-describing.ts works
// around, on the driver alone: cancel() of a query that is still being
// described sends no cancel request, so a Parse waiting for a lock keeps
// waiting. That is every query whose parameters have no type, and a named
// statement on a connection that has not prepared it once another has run
// it. The two "(the defect)" tests fail once postgres.js fixes that: then the
// workaround (and this file) can go.
import postgres from "postgres";
import { createPostgresDatabase, describeOnPostgres, POSTGRES_ADMIN_URL } from "../support/database";
import { until } from "../support/wait";

describeOnPostgres("postgres.js cancel() while a statement is described", () => {
  let database: { url: string; drop(): Promise<void> };
  let sql: postgres.Sql;
  let locker: postgres.Sql;

  beforeAll(async () => {
    database = await createPostgresDatabase(POSTGRES_ADMIN_URL as string);
    sql = postgres(database.url, { max: 3, fetch_types: false, onnotice: false });
    locker = postgres(database.url, { max: 2, onnotice: false });
    await locker`CREATE TABLE locked (id uuid PRIMARY KEY, name text)`;
  });
  afterAll(async () => {
    await sql.end({ timeout: 0 });
    await locker.end();
    await database.drop();
  });

  /** Runs `attempt` while another session holds ACCESS EXCLUSIVE on the table; resolves to what it returned. */
  async function whileLocked<T>(attempt: () => Promise<T>): Promise<T> {
    let result: T | undefined;
    await locker.begin(async (tx) => {
      await tx`LOCK TABLE locked IN ACCESS EXCLUSIVE MODE`;
      result = await attempt();
    });
    return result as T;
  }

  async function waitingForTheLock(): Promise<number> {
    const [row] = await locker<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND wait_event_type = 'Lock' AND query LIKE '%FROM locked%'`;
    return row?.n ?? 0;
  }

  /** Sends a SELECT that waits for the lock, cancels it, and says whether it is still waiting once the cancel has resolved. */
  async function cancelledWhileWaiting(
    params: unknown[],
    prepare = false,
  ): Promise<{ stillWaiting: boolean; outcome: Promise<unknown> }> {
    const reserved = await sql.reserve();
    const query = reserved
      .unsafe("SELECT * FROM locked WHERE id = ANY($1::uuid[]) AND name <> $2", params as never[], { prepare })
      .execute();
    const outcome = query.then(
      () => "answered",
      (error: { code?: string }) => error.code,
    );
    void outcome.finally(() => reserved.release());
    await until(async () => (await waitingForTheLock()) > 0);
    await query.cancel();
    // Bounded: a cancel that landed ends the wait within milliseconds; this says whether it did.
    const stopped = await until(async () => (await waitingForTheLock()) === 0, 1_000).then(
      () => true,
      () => false,
    );
    return { stillWaiting: !stopped, outcome };
  }

  test("untyped parameters: the statement keeps waiting for the lock after cancel() (the defect)", async () => {
    const attempt = await whileLocked(async () => {
      const result = await cancelledWhileWaiting([["00000000-0000-4000-8000-000000000000"], "x"]);
      return { stillWaiting: result.stillWaiting, outcome: result.outcome };
    });
    expect(attempt.stillWaiting).toBe(true);
    // Once the lock is gone it ends, as cancelled, without having run.
    expect(await attempt.outcome).toBe("57014");
  });

  test("a named statement, typed, once the pool has run it: cancel() can leave it waiting for the lock (the defect)", async () => {
    const typed = () => [sql.typed(["00000000-0000-4000-8000-000000000000"], 1009), sql.typed("x", 705)];
    const results: boolean[] = [];
    // Cancelled under the lock twice, run once without it, then cancelled under it again, and so on.
    for (const locked of [true, true, false, true, true, false, true]) {
      if (!locked) {
        await sql.unsafe("SELECT * FROM locked WHERE id = ANY($1::uuid[]) AND name <> $2", typed() as never[], {
          prepare: true,
        });
        continue;
      }
      const attempt = await whileLocked(() => cancelledWhileWaiting(typed(), true));
      // One still waiting goes on to run once the lock is gone, cancelled or not.
      results.push(attempt.stillWaiting);
      await attempt.outcome;
    }
    expect(results).toContain(true);
  });

  test("unnamed, typed parameters (the workaround): cancel() stops the wait at once", async () => {
    const attempt = await whileLocked(async () => {
      const result = await cancelledWhileWaiting([
        sql.typed(["00000000-0000-4000-8000-000000000000"], 1009),
        sql.typed("x", 705),
      ]);
      return { stillWaiting: result.stillWaiting, outcome: await result.outcome };
    });
    expect(attempt).toEqual({ stillWaiting: false, outcome: "57014" });
  });
});
