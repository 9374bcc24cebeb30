// Replicas behind a connection pooler: Debian's PgBouncer 1.18 in transaction
// mode (test/support/pgbouncer.ts), which refuses startup parameters it does
// not know, keeps no prepared statement across transactions, and passes on
// no notification to a LISTEN sent through it. The pool goes through the
// pooler (DATABASE_URL, prepared statements off) and what needs a session
// of its own (LISTEN, the migrations' lock) goes to PostgreSQL itself
// (DATABASE_DIRECT_URL).
import { randomUUID } from "node:crypto";
import { readFileSync } from "node:fs";
import path from "node:path";
import postgres from "postgres";
import { createClient } from "nice-grpc";
import { HealthDefinition } from "nice-grpc-server-health";
import { ServingStatus } from "../support/health";
import type { WatchRequest } from "../../gen/product/v1/product";
import { openDatabase, type DatabaseHandle } from "../../src/db/client";
import { migrateDatabase, MIGRATIONS_FOLDER } from "../../src/db/migrate";
import { PRODUCT_SERVICE_NAME } from "../../src/server";
import { createPostgresDatabase, POSTGRES_ADMIN_URL, type TestDatabase } from "../support/database";
import { PGBOUNCER_MISSING, startPgBouncer, type PgBouncer } from "../support/pgbouncer";
import { collect, newProduct, streamOf } from "../support/products";
import { startTestServer, type TestServer } from "../support/server";
import { requestChannel, updatesReader } from "../support/streams";
import { until } from "../support/wait";

const { SERVING, NOT_SERVING } = ServingStatus;

function describeBehindPgBouncer(title: string, body: () => void): void {
  const missing = POSTGRES_ADMIN_URL === undefined ? "TEST_DATABASE_URL is unset" : PGBOUNCER_MISSING;
  if (missing !== undefined) describe.skip(`${title} (skipped: ${missing})`, body);
  else describe(title, body);
}

describeBehindPgBouncer("replicas behind PgBouncer in transaction mode", () => {
  let database: { url: string; drop(): Promise<void> };
  let pooler: PgBouncer;
  const handles: DatabaseHandle[] = [];
  const servers: TestServer[] = [];

  /** A replica's database: the pool through the pooler, sessions straight to PostgreSQL (or, to show the mistake, not). */
  async function openReplicaDatabase(directUrl = database.url): Promise<DatabaseHandle> {
    const handle = await openDatabase({ url: pooler.url, directUrl, dataDir: "unused", prepare: false, poolMax: 5 });
    handles.push(handle);
    return handle;
  }

  const asTestDatabase = (handle: DatabaseHandle): TestDatabase => ({
    handle,
    url: pooler.url,
    close: async () => undefined,
  });

  beforeAll(async () => {
    database = await createPostgresDatabase(POSTGRES_ADMIN_URL as string);
    pooler = await startPgBouncer(database.url);
  });
  afterAll(async () => {
    for (const server of servers) await server.close();
    for (const handle of handles) await handle.close();
    await pooler?.close();
    await database?.drop();
  });

  test("the pooler refuses a startup parameter, as the service's connections no longer send any", async () => {
    const strict = postgres(pooler.url, { max: 1, connection: { statement_timeout: 1_000 }, onnotice: false });
    await expect(strict`SELECT 1`).rejects.toMatchObject({
      message: expect.stringMatching(/unsupported startup parameter/),
    });
    await strict.end({ timeout: 0 });
  });

  test("two replicas starting together migrate once, under the advisory lock on their direct sessions", async () => {
    const replicas = await Promise.all([openReplicaDatabase(), openReplicaDatabase()]);
    await Promise.all(replicas.map((handle) => migrateDatabase(handle)));
    const direct = postgres(database.url, { max: 1, onnotice: false });
    try {
      const [row] = await direct<{ n: number }[]>`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`;
      const journal = JSON.parse(readFileSync(path.join(MIGRATIONS_FOLDER, "meta/_journal.json"), "utf8")) as {
        entries: unknown[];
      };
      expect(row?.n).toBe(journal.entries.length);
    } finally {
      await direct.end();
    }
    for (const handle of replicas) servers.push(await startTestServer(asTestDatabase(handle)));
    for (const server of servers) {
      const health = createClient(HealthDefinition, server.channel);
      expect((await health.check({ service: PRODUCT_SERVICE_NAME })).status).toBe(SERVING);
    }
  });

  test("a watcher on one replica sees a price changed through the other", async () => {
    const [first, second] = servers as [TestServer, TestServer];
    const product = await first.client.createProduct(newProduct(1, "pooler"));
    const requests = requestChannel<WatchRequest>();
    const controller = new AbortController();
    const reader = updatesReader(second.client.watchPrices(requests, { signal: controller.signal }));
    requests.send({ productIds: [product.id] });
    await reader.waitFor(1);
    await first.client.updatePrice({ id: product.id, price: 77.5 });
    expect((await reader.waitFor(2))[1]).toMatchObject({ productId: product.id, newPrice: 77.5 });
    controller.abort();
    await reader.done;
  });

  test("both replicas answer every RPC under concurrent load, with no error", async () => {
    const failures: string[] = [];
    let calls = 0;
    const step = async <T>(name: string, call: () => Promise<T>): Promise<T | undefined> => {
      calls += 1;
      try {
        return await call();
      } catch (error) {
        failures.push(`${name}: ${String(error)}`);
        return undefined;
      }
    };
    const worker = async (index: number) => {
      const { client } = servers[index % 2] as TestServer;
      const { client: other } = servers[(index + 1) % 2] as TestServer;
      const category = `load-${index}`;
      for (let round = 0; round < 5; round += 1) {
        const plain = await step("CreateProduct", () => client.createProduct(newProduct(round, category)));
        const keyed = { ...newProduct(round + 100, category), requestId: randomUUID() };
        const once = await step("CreateProduct (keyed)", () => client.createProduct(keyed));
        const again = await step("CreateProduct (keyed, again)", () => other.createProduct(keyed));
        if (once !== undefined && again !== undefined && once.id !== again.id)
          failures.push("a keyed create wrote twice");
        if (plain === undefined || once === undefined) continue;
        await step("GetProduct", () => other.getProduct({ id: plain.id }));
        await step("UpdatePrice", () =>
          client.updatePrice({ id: plain.id, price: round + 0.5, requestId: randomUUID() }),
        );
        await step("UpdatePrice (plain)", () => other.updatePrice({ id: once.id, price: round + 1.5, requestId: "" }));
        await step("ListProducts", () => collect(other.listProducts({ category, pageSize: 3, pageToken: "" })));
        await step("BatchCreateProducts", () =>
          client.batchCreateProducts(streamOf([newProduct(round + 200, category), newProduct(round + 300, category)])),
        );
        await step("WatchPrices", async () => {
          const controller = new AbortController();
          const requests = requestChannel<WatchRequest>();
          const reader = updatesReader(other.watchPrices(requests, { signal: controller.signal }));
          requests.send({ productIds: [plain.id] });
          await reader.waitFor(1);
          controller.abort();
          await reader.done;
        });
        await step("DeleteProduct", () => client.deleteProduct({ id: plain.id, requestId: "" }));
      }
    };
    await Promise.all(Array.from({ length: 16 }, (_, index) => worker(index)));
    process.stdout.write(`behind PgBouncer: ${calls} calls over two replicas, ${failures.length} failed\n`);
    expect(failures).toEqual([]);
  });

  test("a replica whose LISTEN goes through the pooler reports NOT_SERVING, and says why", async () => {
    const deaf = await openReplicaDatabase(pooler.url);
    const server = await startTestServer(asTestDatabase(deaf));
    servers.push(server);
    const health = createClient(HealthDefinition, server.channel);
    await until(async () => (await health.check({ service: PRODUCT_SERVICE_NAME })).status === NOT_SERVING, 10_000);
    // The database itself answers: only ProductService, which promises price changes, is down.
    expect((await health.check({ service: "" })).status).toBe(SERVING);
    expect(server.logs).toContainEqual(
      expect.objectContaining({
        msg: expect.stringMatching(/not hearing price changes/),
        reason: expect.stringMatching(/heartbeat/),
      }),
    );
  });
});
