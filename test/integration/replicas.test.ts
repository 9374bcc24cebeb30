// Two server instances on one PostgreSQL database, as two replicas behind a
// load balancer: they migrate once between them, and a price changed through
// one reaches a watcher on the other.
import { sql } from "drizzle-orm";
import { openDatabase, type DatabaseHandle } from "../../src/db/client";
import { readFileSync } from "node:fs";
import path from "node:path";
import { migrateDatabase, MIGRATIONS_FOLDER } from "../../src/db/migrate";
import { createPostgresDatabase, describeOnPostgres, POSTGRES_ADMIN_URL, type TestDatabase } from "../support/database";
import { newProduct } from "../support/products";
import { startTestServer, type TestServer } from "../support/server";
import { requestChannel, updatesReader } from "../support/streams";
import type { WatchRequest } from "../../gen/product/v1/product";

const adminUrl = POSTGRES_ADMIN_URL;

describeOnPostgres("two replicas on one database", () => {
  let dropDatabase: () => Promise<void>;
  const handles: DatabaseHandle[] = [];
  const servers: TestServer[] = [];

  beforeAll(async () => {
    const database = await createPostgresDatabase(adminUrl as string);
    dropDatabase = () => database.drop();
    handles.push(...(await Promise.all([1, 2].map(() => openDatabase({ url: database.url, dataDir: "unused" })))));
    // Started together: both migrate at once; the advisory lock lets one do it.
    await Promise.all(handles.map((handle) => migrateDatabase(handle)));
    for (const handle of handles) {
      const asTestDatabase: TestDatabase = { handle, url: database.url, close: async () => undefined };
      servers.push(await startTestServer(asTestDatabase));
    }
  });
  afterAll(async () => {
    for (const server of servers) await server.close();
    for (const handle of handles) await handle.close();
    await dropDatabase();
  });

  test("the migrations ran once", async () => {
    const applied = await handles[0]!.db.execute(sql`SELECT count(*)::int AS n FROM drizzle.__drizzle_migrations`);
    const journal = JSON.parse(readFileSync(path.join(MIGRATIONS_FOLDER, "meta/_journal.json"), "utf8")) as {
      entries: unknown[];
    };
    expect([...(applied as { n: number }[])][0]?.n).toBe(journal.entries.length);
  });

  test("a price changed through one replica reaches a watcher on the other", async () => {
    const [first, second] = servers as [TestServer, TestServer];
    const product = await first.client.createProduct(newProduct(1));
    const requests = requestChannel<WatchRequest>();
    const controller = new AbortController();
    const reader = updatesReader(second.client.watchPrices(requests, { signal: controller.signal }));
    requests.send({ productIds: [product.id] });
    await reader.waitFor(1);
    await first.client.updatePrice({ id: product.id, price: 123.45 });
    expect((await reader.waitFor(2))[1]).toMatchObject({ productId: product.id, newPrice: 123.45 });
    controller.abort();
    await reader.done;
  });
});
