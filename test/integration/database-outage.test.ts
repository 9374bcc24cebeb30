// A database that blinks: the server sits behind a TCP proxy the test owns
// (never the machine's PostgreSQL itself), and the proxy is cut, restored or
// slowed. Watchers must end up with the latest price of what they watch,
// calls must fail fast while the database is gone and succeed within a
// second of its return, and health must not flap because queries are slow.
import { createServer as createNetServer, type AddressInfo } from "node:net";
import postgres from "postgres";
import { createClient } from "nice-grpc";
import { Status } from "nice-grpc-common";
import { HealthDefinition } from "nice-grpc-server-health";
import { ServingStatus, type ServingStatusValue } from "../support/health";
import type { PriceUpdate, WatchRequest } from "../../gen/product/v1/product";
import { createProductClient } from "../../src/client";
import { PRODUCT_SERVICE_NAME } from "../../src/server";
import { describeOnPostgres, openBehindProxy, type ProxiedDatabase } from "../support/database";
import { newProduct } from "../support/products";
import { startTestServer, testToken, type TestServer } from "../support/server";
import type { TcpProxy } from "../support/tcp-proxy";
import { requestChannel } from "../support/streams";
import { until, whileNothingHappens } from "../support/wait";

const { SERVING } = ServingStatus;
/** How long a wait across a cut or a restore may take before the test fails. */
const OUTAGE_WAIT_MS = 10_000;

/** Reads a watch in the background: the latest price seen per product. */
function latestPrices(stream: AsyncIterable<PriceUpdate>) {
  const latest = new Map<string, number>();
  let failure: unknown;
  const done = (async () => {
    for await (const update of stream) latest.set(update.productId, update.newPrice);
  })().catch((error: unknown) => (failure = error));
  return { latest, done, failure: () => failure };
}

describeOnPostgres("a database outage", () => {
  let proxy: TcpProxy;
  let server: TestServer;
  let database: ProxiedDatabase;
  /** A session straight to PostgreSQL, past the proxy: changes made while the server is cut off. */
  let direct: postgres.Sql;

  beforeAll(async () => {
    database = await openBehindProxy();
    proxy = database.proxy;
    direct = postgres(database.directUrl, { max: 2, onnotice: () => undefined });
    server = await startTestServer(database);
  });
  afterAll(async () => {
    await server.close();
    await direct.end();
    await database.close();
  });
  afterEach(() => {
    proxy.setLatency(0);
    proxy.restore();
  });

  const health = () => createClient(HealthDefinition, server.channel);
  const productServiceServing = async () =>
    (await health().check({ service: PRODUCT_SERVICE_NAME })).status === SERVING;

  async function setPriceDirectly(id: string, price: number): Promise<void> {
    await direct`UPDATE products SET price = ${price} WHERE id = ${id}`;
  }

  test("a watcher open across a cut gets the price changed during it, then every change after recovery", async () => {
    const product = await server.client.createProduct(newProduct(1, "outage"));
    const requests = requestChannel<WatchRequest>();
    const controller = new AbortController();
    const watch = latestPrices(server.client.watchPrices(requests, { signal: controller.signal }));
    requests.send({ productIds: [product.id] });
    await until(() => watch.latest.get(product.id) === product.price, OUTAGE_WAIT_MS);

    proxy.cut();
    await until(async () => !(await productServiceServing()), OUTAGE_WAIT_MS);
    await setPriceDirectly(product.id, 41); // its NOTIFY reaches no one
    proxy.restore();

    // Listening again means caught up: the change made during the cut arrives.
    await until(productServiceServing, OUTAGE_WAIT_MS);
    await until(() => watch.latest.get(product.id) === 41, 3_000);
    for (let price = 100; price < 120; price += 1) {
      await setPriceDirectly(product.id, price);
      await until(() => watch.latest.get(product.id) === price, 3_000);
    }
    expect(watch.failure()).toBeUndefined();
    controller.abort();
    await watch.done;
  });

  test("a watcher opened as the database comes back starts from the current price", async () => {
    const product = await server.client.createProduct(newProduct(2, "outage"));
    proxy.cut();
    await setPriceDirectly(product.id, 77);
    proxy.restore();
    let first: PriceUpdate | undefined;
    await until(async () => {
      const requests = requestChannel<WatchRequest>();
      requests.send({ productIds: [product.id] });
      const controller = new AbortController();
      try {
        for await (const update of server.client.watchPrices(requests, { signal: controller.signal })) {
          first = update;
          return true;
        }
      } catch {
        // UNAVAILABLE until the pool has reconnected: open it again
      } finally {
        controller.abort();
      }
      return false;
    }, 3_000);
    expect(first).toMatchObject({ productId: product.id, newPrice: 77 });
  });

  test("under load, no call waits more than about a second for UNAVAILABLE, and the first OK comes within a second of the return", async () => {
    const product = await server.client.createProduct(newProduct(3, "outage"));
    let stop = false;
    let cutAt = Number.POSITIVE_INFINITY;
    const slowest: number[] = [];
    const okBeforeCut = Array.from({ length: 64 }, () => 0);
    const answeredAfterCut = Array.from({ length: 64 }, () => 0);
    const wrongAnswers: (Status | undefined)[] = [];
    const callers = Array.from({ length: 64 }, async (_, i) => {
      while (!stop) {
        const started = Date.now();
        const call =
          i % 4 === 0
            ? server.client.createProduct(newProduct(i, "outage-load"))
            : server.client.getProduct({ id: product.id });
        const failed = await call.then(
          () => undefined,
          (error: { code: Status }) => error.code,
        );
        if (started >= cutAt) {
          slowest.push(Date.now() - started);
          answeredAfterCut[i]! += 1;
          if (failed !== undefined && failed !== Status.UNAVAILABLE) wrongAnswers.push(failed);
        } else if (failed === undefined) {
          okBeforeCut[i]! += 1;
        }
      }
    });
    // Every caller is under way, then the cut lasts until each has sent and
    // been answered three calls since, and for at least 2 s (deliberately:
    // long enough for reconnects and the health probe to meet it too). A
    // wrong answer ends the wait at once.
    await until(() => okBeforeCut.every((n) => n > 0), OUTAGE_WAIT_MS);
    cutAt = Date.now();
    proxy.cut();
    await until(
      () => wrongAnswers.length > 0 || (answeredAfterCut.every((n) => n >= 3) && Date.now() - cutAt >= 2_000),
      OUTAGE_WAIT_MS,
      "three answers from every caller during the cut",
    );
    stop = true;
    await Promise.all(callers);
    expect(wrongAnswers).toEqual([]);
    expect(slowest.length).toBeGreaterThan(0);
    expect(Math.max(...slowest)).toBeLessThan(1_500);

    proxy.restore();
    const firstOk = await until(
      async () =>
        await server.client.getProduct({ id: product.id }).then(
          () => true,
          () => false,
        ),
      5_000,
    );
    expect(firstOk).toBeLessThan(1_000);
  });

  test("health stays SERVING while every reply from the database takes 300 ms", async () => {
    await until(productServiceServing, OUTAGE_WAIT_MS);
    proxy.setLatency(300);
    const product = await server.client.createProduct(newProduct(4, "outage"));
    const statuses: ServingStatusValue[] = [];
    let stop = false;
    const load = Array.from({ length: 8 }, async () => {
      while (!stop) await server.client.getProduct({ id: product.id }).catch(() => undefined);
    });
    for (let i = 0; i < 40; i += 1) {
      statuses.push(
        (await health().check({ service: "" })).status,
        (await health().check({ service: PRODUCT_SERVICE_NAME })).status,
      );
      await whileNothingHappens(100, "health leaving SERVING");
    }
    stop = true;
    await Promise.all(load);
    expect(statuses.filter((status) => status !== SERVING)).toEqual([]);
  });
});

describeOnPostgres("the typed client's watch", (backend) => {
  test("survives a restart of the only replica it knows, and sees the next change", async () => {
    const database = await backend.open();
    const port = await freePort();
    let server: TestServer | undefined = await startTestServer(database, {}, undefined, `127.0.0.1:${port}`);
    const client = createProductClient({ address: `127.0.0.1:${port}`, insecure: true, token: await testToken() });
    const controller = new AbortController();
    try {
      const product = await client.createProduct(newProduct(1, "restart"));
      const requests = requestChannel<WatchRequest>();
      const watch = latestPrices(client.watchPrices(requests, { signal: controller.signal }));
      requests.send({ productIds: [product.id] });
      await until(() => watch.latest.get(product.id) === product.price, OUTAGE_WAIT_MS);

      await server.app.shutdown(1_000);
      await server.close();
      server = undefined;
      // Not a wait: the only replica stays down 1.5 s, so the client's reconnects find nothing.
      await new Promise((resolve) => setTimeout(resolve, 1_500));
      server = await startTestServer(database, {}, undefined, `127.0.0.1:${port}`);

      await until(() => server!.app.priceWatch.stats().subscriptions > 0, 10_000);
      await client.updatePrice({ id: product.id, price: 55 });
      await until(() => watch.latest.get(product.id) === 55, 5_000);
      expect(watch.failure()).toBeUndefined();
    } finally {
      controller.abort();
      client.close();
      await server?.close();
      await database.close();
    }
  });
});

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const probe = createNetServer().listen(0, "127.0.0.1", () => {
      const { port } = probe.address() as AddressInfo;
      probe.close(() => resolve(port));
    });
  });
}
