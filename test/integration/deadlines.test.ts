// Deadlines on PostgreSQL, where another session's lock slows the handler:
// calls without a deadline end at the default, the query in flight is
// cancelled on the server, and long-lived streams are exempt.
import postgres from "postgres";
import { Status } from "nice-grpc-common";
import type { WatchRequest } from "../../gen/product/v1/product";
import { describeOnPostgres, type TestDatabase } from "../support/database";
import { expectStatus, newProduct } from "../support/products";
import { startTestServer, type TestServer } from "../support/server";
import { requestChannel, updatesReader } from "../support/streams";

const DEFAULT_MS = 400;

describeOnPostgres("deadlines", (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  let observer: postgres.Sql;

  beforeAll(async () => {
    database = await backend.open();
    server = await startTestServer(database, { deadlines: { defaultMs: DEFAULT_MS, maxMs: 5_000 } });
    observer = postgres(database.url as string, { max: 2, onnotice: () => undefined });
  });
  afterAll(async () => {
    await observer.end();
    await server.close();
    await database.close();
  });

  /** Holds an ACCESS EXCLUSIVE lock on products while `work` runs: every query on it waits. */
  async function whileLocked<T>(work: () => Promise<T>): Promise<T> {
    let result: T | undefined;
    await observer.begin(async (tx) => {
      await tx`LOCK TABLE products IN ACCESS EXCLUSIVE MODE`;
      result = await work();
    });
    return result as T;
  }

  /** Queries of the service (by application_name) that are running or waiting. */
  async function serviceQueriesInFlight(): Promise<number> {
    const [row] = await observer`
      SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND application_name = 'product-service' AND state = 'active'`;
    return row?.n ?? 0;
  }

  async function eventually(condition: () => Promise<boolean>, timeoutMs = 3_000): Promise<boolean> {
    const until = Date.now() + timeoutMs;
    while (Date.now() < until) {
      if (await condition()) return true;
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return false;
  }

  test("a call without a deadline to a slowed handler is DEADLINE_EXCEEDED at the default, and its query is cancelled", async () => {
    const product = await server.client.createProduct(newProduct(1));
    await whileLocked(async () => {
      const started = Date.now();
      await expectStatus(server.client.updatePrice({ id: product.id, price: 2 }), Status.DEADLINE_EXCEEDED, "deadline exceeded");
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(DEFAULT_MS - 50);
      expect(elapsed).toBeLessThan(DEFAULT_MS + 1_000);
      // Still inside the lock: the UPDATE must not be waiting for it any more.
      expect(await eventually(async () => (await serviceQueriesInFlight()) === 0)).toBe(true);
    });
    expect((await server.client.getProduct({ id: product.id })).price).toBe(product.price);
  });

  test("a slow query is cancelled on PostgreSQL once the client's deadline passes", async () => {
    const product = await server.client.createProduct(newProduct(2));
    await whileLocked(async () => {
      const call = server.client.updatePrice({ id: product.id, price: 3 }, { signal: AbortSignal.timeout(150) });
      await expect(call).rejects.toThrow();
      expect(await eventually(async () => (await serviceQueriesInFlight()) === 0)).toBe(true);
    });
    expect((await server.client.getProduct({ id: product.id })).price).toBe(product.price);
  });

  test("WatchPrices outlives the default deadline", async () => {
    const product = await server.client.createProduct(newProduct(3));
    const requests = requestChannel<WatchRequest>();
    const controller = new AbortController();
    const reader = updatesReader(server.client.watchPrices(requests, { signal: controller.signal }));
    requests.send({ productIds: [product.id] });
    await reader.waitFor(1);
    await new Promise((resolve) => setTimeout(resolve, DEFAULT_MS * 2));
    await server.client.updatePrice({ id: product.id, price: 9 });
    expect((await reader.waitFor(2))[1]).toMatchObject({ newPrice: 9 });
    controller.abort();
    await reader.done;
  });
});
