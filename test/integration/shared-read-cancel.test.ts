// A GetProduct read shared by the calls of one event-loop turn belongs to
// all of them: it runs while any of them waits, and is cancelled on
// PostgreSQL once the last has gone (its deadline, its cancel), touching no
// other statement. A table held under lock by another session is what keeps
// the reads waiting here.
import postgres from "postgres";
import { HealthDefinition } from "nice-grpc-server-health";
import { ServingStatus } from "../support/health";
import { createClient, Metadata } from "nice-grpc";
import { Status } from "nice-grpc-common";
import { GetProductRequest, Product } from "../../gen/product/v1/product";
import { describeOnPostgres, type TestDatabase } from "../support/database";
import { expectStatus, newProduct } from "../support/products";
import { startTestServer, testToken, type TestServer } from "../support/server";
import { rawCall, rawSession } from "../support/raw-grpc";
import { until } from "../support/wait";

describeOnPostgres("a shared read", (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  /** Another session, which holds the products table under lock. */
  let locker: postgres.Sql;
  let product: Product;

  beforeAll(async () => {
    // A small pool: reads left running would soon hold every connection.
    database = await backend.open({ poolMax: 3 });
    server = await startTestServer(database);
    locker = postgres(database.url as string, { max: 2, onnotice: () => undefined });
    product = await server.client.createProduct(newProduct(1, "shared-read"));
  });
  afterAll(async () => {
    await server.close();
    await locker.end();
    await database.close();
  });

  /** The server's reads of products running now, as PostgreSQL sees them. */
  async function readsRunning(): Promise<number> {
    const [row] = await locker<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND application_name = 'product-service'
        AND state = 'active' AND query LIKE 'select %from "products"%'`;
    return row?.n ?? 0;
  }

  /** Holds ACCESS EXCLUSIVE on products until the returned function is called. */
  async function lockProducts(): Promise<() => Promise<void>> {
    let release!: () => void;
    const released = new Promise<void>((resolve) => (release = resolve));
    let locked!: () => void;
    const held = new Promise<void>((resolve) => (locked = resolve));
    const transaction = locker.begin(async (sql) => {
      await sql`LOCK TABLE products IN ACCESS EXCLUSIVE MODE`;
      locked();
      await released;
    });
    await held;
    return async () => {
      release();
      await transaction;
    };
  }

  /** A GetProduct whose deadline (grpc-timeout) is `ms` away, sent in this turn. */
  const getWithin = (ms: number, token: string) =>
    server.client.getProduct(
      { id: product.id },
      { metadata: Metadata({ authorization: `Bearer ${token}`, "grpc-timeout": `${ms}m` }) },
    );

  test("reads whose callers all gave up are cancelled: none is left behind the lock, and other work goes on", async () => {
    const unlock = await lockProducts();
    try {
      const sent = Date.now();
      // More calls than the pool has connections, over several turns (and so several shared reads).
      const token = await testToken();
      // Not a wait: the 20 ms spread sends them in different turns.
      const calls = Array.from({ length: 6 }, (_, i) =>
        new Promise((resolve) => setTimeout(resolve, i * 20)).then(() =>
          expectStatus(getWithin(1_000, token), Status.DEADLINE_EXCEEDED),
        ),
      );
      await until(async () => (await readsRunning()) > 0, 2_000);
      await Promise.all(calls);
      const gone = await until(async () => (await readsRunning()) === 0, 2_000);
      process.stdout.write(`reads in pg_stat_activity: 0, ${Date.now() - sent} ms after they were sent\n`);
      expect(gone).toBeLessThan(2_000);
      // The lock is still held; the pool's connections are free for other work.
      const health = createClient(HealthDefinition, server.channel);
      expect((await health.check({ service: "" })).status).toBe(ServingStatus.SERVING);
    } finally {
      await unlock();
    }
    expect(await server.client.getProduct({ id: product.id })).toEqual(product);
  });

  test("a read goes on while one of its callers still waits, and answers it", async () => {
    const token = await testToken();
    const session = rawSession(server.address);
    const request = GetProductRequest.encode({ id: product.id }).finish();
    const call = (timeout: string) =>
      rawCall(session, "/product.v1.ProductService/GetProduct", [request], {
        authorization: `Bearer ${token}`,
        "grpc-timeout": timeout,
      }).response;
    // A first call connects the session and has the server verify the token, which it then remembers: the two
    // calls below go out in one write on a connection already open, and nothing asynchronous (a signature
    // check) stands between the server reading them and asking for their rows, so they share one read.
    expect((await call("20S")).status).toBe(Status.OK);
    const unlock = await lockProducts();
    let answered: Product | undefined;
    try {
      const impatient = call("500m");
      const patient = call("20S").then((response) => {
        answered = response.messages[0] && Product.decode(response.messages[0]);
        return response.status;
      });
      expect((await impatient).status).toBe(Status.DEADLINE_EXCEEDED);
      expect(await readsRunning()).toBe(1);
      expect(answered).toBeUndefined();
      await unlock();
      expect(await patient).toBe(Status.OK);
    } finally {
      await unlock();
      session.close();
    }
    expect(answered).toEqual(product);
  });
});
