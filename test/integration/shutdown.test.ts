// Graceful shutdown of the real server process on SIGTERM, on PostgreSQL
// (another session's lock keeps a unary call in flight for as long as the test
// wants): health turns NOT_SERVING, new calls are refused, the unary call
// finishes, streams end with UNAVAILABLE, and the process exits 0 within the
// grace period — or non-zero when a call outlives it.
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import path from "node:path";
import postgres from "postgres";
import { createChannel, createClient, Metadata } from "nice-grpc";
import { Status } from "nice-grpc-common";
import { HealthDefinition } from "nice-grpc-server-health";
import { ServingStatus, type ServingStatusValue } from "../support/health";
import {
  ProductServiceDefinition,
  WatchRequest,
  type WatchRequest as WatchRequestMessage,
} from "../../gen/product/v1/product";
import { openDatabase } from "../../src/db/client";
import { migrateDatabase } from "../../src/db/migrate";
import { createPostgresDatabase, describeOnPostgres, POSTGRES_ADMIN_URL } from "../support/database";
import { newProduct, rpcError, streamOf } from "../support/products";
import { startServerProcess, type ServerProcess } from "../support/processes/server-process";
import { TEST_AUTH, TEST_SECRET, testToken } from "../support/server";
import { requestChannel, updatesReader } from "../support/streams";
import { rawCall, rawSession } from "../support/raw-grpc";
import { until } from "../support/wait";

const adminUrl = POSTGRES_ADMIN_URL;

describeOnPostgres("SIGTERM", () => {
  let url: string;
  let drop: () => Promise<void>;
  let locker: postgres.Sql;

  beforeAll(async () => {
    const database = await createPostgresDatabase(adminUrl as string);
    url = database.url;
    drop = () => database.drop();
    const handle = await openDatabase({ url, dataDir: "unused" });
    await migrateDatabase(handle);
    await handle.close();
    locker = postgres(url, { max: 2, onnotice: () => undefined });
  });
  afterAll(async () => {
    await locker.end();
    await drop();
  });

  async function start(
    graceMs: number,
  ): Promise<{ server: ServerProcess; client: ReturnType<typeof makeClient>; address: string }> {
    const server = await startServerProcess({
      DATABASE_URL: url,
      JWT_SECRET: TEST_SECRET,
      JWT_ISSUER: TEST_AUTH.issuer,
      JWT_AUDIENCE: TEST_AUTH.audience,
      SHUTDOWN_GRACE_MS: String(graceMs),
    });
    const address = `127.0.0.1:${server.port}`;
    return { server, address, client: makeClient(address, await testToken()) };
  }

  function makeClient(address: string, token: string) {
    return createClient(ProductServiceDefinition, createChannel(address), {
      "*": { metadata: Metadata({ authorization: `Bearer ${token}` }) },
    });
  }

  async function waitForLockWaiter(): Promise<void> {
    await until(
      async () => {
        const [row] =
          await locker`SELECT count(*)::int AS n FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'`;
        return (row?.n ?? 0) > 0;
      },
      5_000,
      "the unary call waiting on the lock",
    );
  }

  test("lets the unary call finish, ends streams with UNAVAILABLE, refuses new calls and exits 0", async () => {
    const { server, client, address } = await start(10_000);
    const { products } = await client.batchCreateProducts(
      streamOf(Array.from({ length: 5_000 }, (_, i) => newProduct(i, "shutdown"))),
    );
    const product = products[0]!;

    const health = createClient(HealthDefinition, createChannel(address));
    const healthUpdates: ServingStatusValue[] = [];
    const healthWatch = (async () => {
      for await (const update of health.watch({ service: "" })) healthUpdates.push(update.status);
    })().catch((error: unknown) => error);

    const watchRequests = requestChannel<WatchRequestMessage>();
    const watch = updatesReader(client.watchPrices(watchRequests));
    watchRequests.send({ productIds: [product.id] });
    await watch.waitFor(1);

    const list = client.listProducts({ category: "shutdown", pageSize: 0, pageToken: "" })[Symbol.asyncIterator]();
    await list.next(); // then the reader stalls

    await locker
      .begin(async (tx) => {
        await tx`LOCK TABLE products IN ACCESS EXCLUSIVE MODE`;
        const slowUnary = client.updatePrice({ id: product.id, price: 77 });
        await waitForLockWaiter();
        const signalledAt = Date.now();
        server.child.kill("SIGTERM");

        await watch.done;
        expect(watch.failure).toMatchObject({ code: Status.UNAVAILABLE, details: "server shutting down" });
        expect(await healthWatch).toMatchObject({ code: Status.UNAVAILABLE });
        expect(healthUpdates).toEqual([ServingStatus.SERVING, ServingStatus.NOT_SERVING]);
        expect(Status[(await rpcError(client.getProduct({ id: product.id }))).code]).toBe("UNAVAILABLE");

        await tx`SELECT pg_sleep(0.3)`;
        // Not awaited here: the call can only finish once this transaction ends.
        return { slowUnary, signalledAt };
      })
      .then(async ({ slowUnary, signalledAt }) => {
        expect((await slowUnary).product?.price).toBe(77);
        let drained = 1;
        const ended = await (async () => {
          for (;;) {
            const next = await list.next();
            if (next.done) return "completed";
            drained += 1;
          }
        })().catch((error: { code: Status; details: string }) => `${Status[error.code]}: ${error.details}`);
        expect(ended).toBe("UNAVAILABLE: server shutting down");
        expect(drained).toBeLessThan(5_000);
        expect(await server.exited).toBe(0);
        expect(Date.now() - signalledAt).toBeLessThan(10_000);
      });
  });

  test("starts and serves with a pool of one connection", async () => {
    const server = await startServerProcess({
      DATABASE_URL: url,
      DATABASE_POOL_MAX: "1",
      JWT_SECRET: TEST_SECRET,
      JWT_ISSUER: TEST_AUTH.issuer,
      JWT_AUDIENCE: TEST_AUTH.audience,
    });
    try {
      const client = makeClient(`127.0.0.1:${server.port}`, await testToken());
      const created = await client.createProduct(newProduct(1, "pool-of-one"));
      expect(await client.getProduct({ id: created.id })).toEqual(created);
    } finally {
      server.child.kill("SIGTERM");
      await server.exited;
    }
  });

  test("past the grace period it cancels what is left and exits non-zero", async () => {
    const { server, client } = await start(500);
    const product = await client.createProduct(newProduct(1));
    await locker.begin(async (tx) => {
      await tx`LOCK TABLE products IN ACCESS EXCLUSIVE MODE`;
      const slowUnary = client
        .updatePrice({ id: product.id, price: 5 })
        .catch((error: { code: Status }) => Status[error.code]);
      await waitForLockWaiter();
      const signalledAt = Date.now();
      server.child.kill("SIGTERM");
      expect(await server.exited).toBe(1);
      expect(Date.now() - signalledAt).toBeGreaterThanOrEqual(450);
      expect(await slowUnary).toMatch(/CANCELLED|UNAVAILABLE/);
    });
  });
});

describe("SIGTERM with no call in flight, on the embedded database", () => {
  let dataDir: string;

  beforeAll(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "product-shutdown-"));
  });
  afterAll(() => rm(dataDir, { recursive: true, force: true }));

  test("exits 0 within a second, despite idle connections and a client that keeps its request stream open", async () => {
    const server = await startServerProcess({
      DATA_DIR: dataDir,
      JWT_SECRET: TEST_SECRET,
      JWT_ISSUER: TEST_AUTH.issuer,
      JWT_AUDIENCE: TEST_AUTH.audience,
      SHUTDOWN_GRACE_MS: "10000",
    });
    const address = `127.0.0.1:${server.port}`;
    const token = await testToken();
    const client = createClient(ProductServiceDefinition, createChannel(address), {
      "*": { metadata: Metadata({ authorization: `Bearer ${token}` }) },
    });
    const product = await client.createProduct(newProduct(1));

    // Idle connections: each made one call and stays open.
    const idle = Array.from({ length: 10 }, () => createChannel(address));
    await Promise.all(idle.map((channel) => createClient(HealthDefinition, channel).check({ service: "" })));

    // A WatchPrices whose client never half-closes, as `buf curl` reading stdin does.
    const session = rawSession(address);
    const watch = rawCall(
      session,
      "/product.v1.ProductService/WatchPrices",
      [WatchRequest.encode({ productIds: [product.id] }).finish()],
      { authorization: `Bearer ${token}` },
      false,
    );
    await until(() => watch.received().length > 0, 5_000, "the watch's initial price");

    const signalledAt = Date.now();
    server.child.kill("SIGTERM");
    expect(await server.exited).toBe(0);
    expect(Date.now() - signalledAt).toBeLessThan(1_000);
    expect(await watch.response).toMatchObject({ status: Status.UNAVAILABLE, message: "server shutting down" });
    session.destroy();
    for (const channel of idle) channel.close();
  });
});
