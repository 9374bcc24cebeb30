// A postgres.js 4.2.0 defect, on the driver alone (not reported upstream as
// far as can be found): cancel() of a COPY FROM STDIN while its rows stream
// in neither stops it nor ever resolves. src/db copes without a workaround of
// its own: the cancel gate gives a slot back after a bound whether cancel()
// resolves or not (cancel-gate.ts), and BatchCreateProducts' COPY runs in a
// transaction that is not committed once its call has stopped. This test
// fails once postgres.js fixes it; then the gate's comment can lose the case.
import { Readable } from "node:stream";
import { pipeline } from "node:stream/promises";
import postgres from "postgres";
import { createPostgresDatabase, describeOnPostgres, POSTGRES_ADMIN_URL } from "../support/database";
import { until, whileNothingHappens } from "../support/wait";

describeOnPostgres("postgres.js cancel() of a COPY FROM STDIN", () => {
  let database: { url: string; drop(): Promise<void> };
  let sql: postgres.Sql;

  beforeAll(async () => {
    database = await createPostgresDatabase(POSTGRES_ADMIN_URL as string);
    sql = postgres(database.url, { max: 1, onnotice: false });
    await sql`CREATE TABLE copied (n int NOT NULL)`;
  });
  afterAll(async () => {
    await sql.end({ timeout: 0 });
    await database.drop();
  });

  test("neither stops the COPY nor resolves (the defect)", async () => {
    const copy = sql.unsafe("COPY copied (n) FROM STDIN");
    const writable = await copy.writable();
    let sent = 0;
    let cancelled = false;
    let cancelStarted = () => {};
    const started = new Promise<void>((resolve) => (cancelStarted = resolve));
    async function* rows() {
      for (; sent < 20; sent += 1) {
        if (sent === 5) {
          // The COPY stays open while cancel() has its chance: a cancel() that
          // works resolves once its request has landed, and the rest of the
          // rows then meet a cancelled COPY. This one never resolves.
          await started;
          await whileNothingHappens(2_000, "cancel() resolving", () => cancelled);
        }
        yield `${sent}\n`;
      }
    }
    const streamed = pipeline(Readable.from(rows()), writable).then(
      () => "finished",
      (error: { code?: string }) => error.code,
    );
    await until(() => sent >= 5);
    void copy.cancel().then(() => (cancelled = true));
    cancelStarted();
    expect(await streamed).toBe("finished");
    expect(await sql`SELECT count(*)::int AS n FROM copied`).toEqual([{ n: 20 }]);
    expect(cancelled).toBe(false);
  });
});
