// A database that stops answering without closing anything (a black hole:
// the test's proxy forwards nothing either way and keeps every socket open,
// holding what was sent until it heals, as TCP would). Under 40 callers the
// server must keep its connections within the pool, the LISTEN session and
// the cancel slots, and every create must be answered with what the store
// did: no create answered DEADLINE_EXCEEDED (or CANCELLED) may be found in
// the table once the database is back; one whose fate is unknown says so
// (UNAVAILABLE, reason WRITE_OUTCOME_UNKNOWN).
import { randomUUID } from "node:crypto";
import postgres from "postgres";
import { createChannel, createClient, createClientFactory, Metadata, type Channel } from "nice-grpc";
import { Status } from "nice-grpc-common";
import { errorDetailsClientMiddleware, RichClientError } from "nice-grpc-error-details";
import { HealthDefinition } from "nice-grpc-server-health";
import { ServingStatus } from "../support/health";
import { ProductServiceDefinition, type ProductServiceClient } from "../../gen/product/v1/product";
import { CANCEL_SLOTS } from "../../src/db/postgres";
import { PRODUCT_SERVICE_NAME } from "../../src/server";
import { describeOnPostgres, openBehindProxy, type ProxiedDatabase } from "../support/database";
import { openSocketsTo } from "../support/open-sockets";
import { newProduct } from "../support/products";
import { startTestServer, testToken, type TestServer } from "../support/server";
import type { TcpProxy } from "../support/tcp-proxy";
import { until } from "../support/wait";

const POOL_MAX = 10;
const CALLERS = 40;
const CATEGORY = "black-hole";
const { NOT_SERVING } = ServingStatus;

interface Create {
  readonly name: string;
  /** "OK", or the status code's name and the reason. */
  outcome: string;
}

describeOnPostgres("a database that stops answering", () => {
  let database: ProxiedDatabase;
  let proxy: TcpProxy;
  let server: TestServer;
  let channel: Channel;
  let client: ProductServiceClient;
  /** A session straight to PostgreSQL, past the proxy. */
  let direct: postgres.Sql;

  beforeAll(async () => {
    database = await openBehindProxy({ poolMax: POOL_MAX });
    proxy = database.proxy;
    // Calls come without a deadline of their own and get the server's: 1 s. The client
    // waits for the server's answer, which is what this test reads.
    server = await startTestServer(database, { deadlines: { defaultMs: 1_000, maxMs: 60_000 } });
    channel = createChannel(server.address);
    client = createClientFactory()
      .use(errorDetailsClientMiddleware)
      .create(ProductServiceDefinition, channel, {
        "*": { metadata: Metadata({ authorization: `Bearer ${await testToken()}` }) },
      });
    direct = postgres(database.directUrl, { max: 2, onnotice: false });
  });
  afterAll(async () => {
    proxy.setLatency(0);
    proxy.heal();
    channel.close();
    await server.close();
    await direct.end();
    await database.close();
  });

  function outcomeOf(error: unknown): string {
    if (!(error instanceof RichClientError)) return String(error);
    const reason = error.extra.find((detail) => detail.$type === "google.rpc.ErrorInfo")?.reason;
    return `${Status[error.code]} ${reason ?? ""}`.trim();
  }

  test("keeps its connections bounded under 40 callers, and answers every create with what the store did", async () => {
    // Replies take a while, so that when the dark comes many statements have run and their answers are on the way.
    proxy.setLatency(20);
    const product = await client.createProduct(newProduct(0, CATEGORY));
    const health = createClient(HealthDefinition, channel);
    const creates: Create[] = [];
    let holeAt = Number.POSITIVE_INFINITY;
    let stop = false;
    const afterHole = new Array<number>(CALLERS).fill(0);
    const before = new Array<number>(CALLERS).fill(0);

    const callers = Array.from({ length: CALLERS }, async (_, caller) => {
      for (let n = 0; !stop; n += 1) {
        const started = Date.now();
        if (n % 4 === 3) {
          await client.getProduct({ id: product.id }).catch(() => undefined);
        } else {
          // Half keyed (a transaction), half not (written with the creates in flight beside them).
          const create: Create = { name: `bh ${caller} ${n}`, outcome: "pending" };
          creates.push(create);
          const requestId = caller % 2 === 0 ? randomUUID() : "";
          create.outcome = await client
            .createProduct({ ...newProduct(n, CATEGORY), name: create.name, requestId })
            .then(() => "OK", outcomeOf);
        }
        if (started >= holeAt) afterHole[caller] = (afterHole[caller] ?? 0) + 1;
        else before[caller] = (before[caller] ?? 0) + 1;
      }
    });

    try {
      await until(() => before.every((done) => done >= 2), 20_000);
    } catch (error) {
      stop = true;
      await Promise.all(callers);
      throw error;
    }
    // The connections the server holds open to the database (through the proxy), pool, LISTEN and cancel requests alike.
    let most = 0;
    const sampler = setInterval(() => (most = Math.max(most, openSocketsTo(proxy.port))), 10);
    proxy.blackHole();
    holeAt = Date.now();
    try {
      // Every caller has been answered twice for calls begun in the dark: the calls in
      // flight when it began have all been stopped, cancelled or given up on by then;
      // and the LISTEN session has missed its heartbeats and been made again.
      await until(() => afterHole.every((done) => done >= 2), 30_000);
      await until(
        () => server.logs.some((line) => typeof line.reason === "string" && line.reason.includes("heartbeat")),
        30_000,
      );
      expect((await health.check({ service: PRODUCT_SERVICE_NAME })).status).toBe(NOT_SERVING);
    } finally {
      clearInterval(sampler);
      proxy.heal();
      stop = true;
      await Promise.all(callers);
    }
    const healedAt = Date.now();

    const bound = POOL_MAX + 1 + CANCEL_SLOTS;
    process.stdout.write(
      `black hole: ${Math.round((healedAt - holeAt) / 100) / 10} s, at most ${most} connections open to the database (bound: pool ${POOL_MAX} + LISTEN 1 + cancels ${CANCEL_SLOTS} = ${bound})\n`,
    );
    // More than none: the count is read from the kernel's tables (Linux), and would be 0 without them.
    expect(most).toBeGreaterThan(1);
    expect(most).toBeLessThanOrEqual(bound);

    // What was held up in the dark has landed: no statement of the server's is still running.
    await until(async () => {
      const [row] = await direct<{ n: number }[]>`
        SELECT count(*)::int AS n FROM pg_stat_activity
        WHERE datname = current_database() AND application_name = 'product-service' AND state <> 'idle'`;
      return row?.n === 0;
    }, 20_000);

    const rows = await direct<
      { name: string }[]
    >`SELECT name FROM products WHERE category = ${CATEGORY} AND name LIKE 'bh %'`;
    const answered = new Map(creates.map((create) => [create.name, create.outcome]));
    const tally = new Map<string, number>();
    for (const { outcome } of creates) tally.set(outcome, (tally.get(outcome) ?? 0) + 1);
    const stored = new Map<string, string>();
    for (const row of rows) stored.set(row.name, answered.get(row.name) ?? "never sent");
    process.stdout.write(
      `creates: ${[...tally].map(([outcome, n]) => `${outcome} ${n}`).join(", ")}; rows checked after the heal: ${rows.length}\n`,
    );

    // Every row: a create that was sent, and not answered as if nothing was written
    // (DEADLINE_EXCEEDED, CANCELLED, or UNAVAILABLE with reason DATABASE_UNAVAILABLE).
    expect(rows.length).toBe(stored.size);
    for (const [name, outcome] of stored) {
      expect({ name, outcome }).toEqual({
        name,
        outcome: expect.not.stringMatching(
          /^(DEADLINE_EXCEEDED|CANCELLED|UNAVAILABLE DATABASE_UNAVAILABLE|never sent)/,
        ),
      });
    }
    // Every create answered OK is there; an unknown outcome is one of the two.
    for (const { name, outcome } of creates) {
      if (outcome === "OK") expect({ name, stored: stored.has(name) }).toEqual({ name, stored: true });
      else expect(outcome).toMatch(/^(DEADLINE_EXCEEDED|CANCELLED|UNAVAILABLE)/);
    }
  });

  test("a create whose statement ran but whose answer is held in the dark is answered WRITE_OUTCOME_UNKNOWN, and is stored", async () => {
    // After the last test's dark, the server finds the database again.
    await until(
      () =>
        client.createProduct(newProduct(1, CATEGORY)).then(
          () => true,
          () => false,
        ),
      20_000,
    );
    // Answers take 300 ms; the dark comes while this create's answer is on its way.
    proxy.setLatency(300);
    const name = `held ${randomUUID()}`;
    const create = client.createProduct({ ...newProduct(1, CATEGORY), name }).then(() => "OK", outcomeOf);
    await until(async () => (await direct`SELECT 1 FROM products WHERE name = ${name}`).length === 1);
    proxy.blackHole();
    let outcome: string;
    try {
      outcome = await create;
    } finally {
      proxy.heal();
      proxy.setLatency(0);
    }
    expect(outcome).toBe("UNAVAILABLE WRITE_OUTCOME_UNKNOWN");
    expect(await direct`SELECT name FROM products WHERE name = ${name}`).toEqual([{ name }]);
  });
});
