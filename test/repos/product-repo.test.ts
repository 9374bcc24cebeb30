// The repository against real databases: what the service relies on.
import { sql } from "drizzle-orm";
import { createProductRepo, type ProductRepo, type ProductRow } from "../../src/repos/product-repo";
import type { CallConnection } from "../../src/db/client";
import { TEST_BACKENDS, type TestDatabase } from "../support/database";

/** Work that nothing stops. */
const unbounded = { signal: new AbortController().signal, remainingMs: () => undefined };

describe.each(TEST_BACKENDS)("product repo on $name", (backend) => {
  let database: TestDatabase;
  let repo: ProductRepo;

  beforeAll(async () => {
    database = await backend.open();
    repo = createProductRepo(database.handle, { listBatchSize: 7, chunkSize: 3 });
  });
  afterAll(() => database.close());

  /** Runs repository writes on a connection of their own, as a call's writes run. */
  const onConnection = <T>(work: (connection: CallConnection) => Promise<T>) =>
    database.handle.withConnection(unbounded, work);
  const inTransaction = <T>(work: (tx: CallConnection) => Promise<T>) => database.handle.transaction(unbounded, work);

  test("create stores defaults and round-trips the price exactly", async () => {
    const created = await onConnection((c) =>
      repo.create({ name: "Pen", price: 0.1 + 0.2, category: "office", tags: ["a", "b"] }, c),
    );
    expect(created).toMatchObject({
      name: "Pen",
      price: 0.1 + 0.2,
      category: "office",
      inStock: true,
      tags: ["a", "b"],
    });
    expect(created.createdAt).toBeInstanceOf(Date);
    expect(await repo.getById(created.id, unbounded)).toEqual(created);
  });

  test("point reads in one turn share a query and each gets its own row", async () => {
    const a = await onConnection((c) => repo.create({ name: "A", price: 1, category: "", tags: [] }, c));
    const b = await onConnection((c) => repo.create({ name: "B", price: 2, category: "", tags: [] }, c));
    const missing = "00000000-0000-4000-8000-000000000000";
    const [ra, rb, rm, ra2] = await Promise.all([
      repo.getById(a.id, unbounded),
      repo.getById(b.id, unbounded),
      repo.getById(missing, unbounded),
      repo.getById(a.id, unbounded),
    ]);
    expect([ra?.name, rb?.name, rm, ra2?.name]).toEqual(["A", "B", undefined, "A"]);
  });

  test("createMany is all or nothing and keeps the order", async () => {
    const rows = await inTransaction((tx) =>
      repo.createMany(
        Array.from({ length: 10 }, (_, i) => ({ name: `n${i}`, price: i, category: "many", tags: [] })),
        tx,
        unbounded.signal,
      ),
    );
    expect(rows.map((row) => row.name)).toEqual(Array.from({ length: 10 }, (_, i) => `n${i}`));
    // Across four INSERT chunks of three, each row returned is the row stored.
    expect(await Promise.all(rows.map((row) => repo.getById(row.id, unbounded)))).toEqual(rows);
    const [exact] = await inTransaction((tx) =>
      repo.createMany(
        [
          {
            name: "exact",
            price: 0.1 + 0.2,
            category: "exact",
            tags: ["a b", 'q"uote', "{brace}", "", "back\\slash", "NULL"],
          },
        ],
        tx,
        unbounded.signal,
      ),
    );
    expect(await repo.getById(exact!.id, unbounded)).toEqual(exact);
    expect(exact).toMatchObject({
      price: 0.1 + 0.2,
      tags: ["a b", 'q"uote', "{brace}", "", "back\\slash", "NULL"],
      inStock: true,
    });
    await expect(
      inTransaction((tx) =>
        repo.createMany(
          [
            { name: "ok", price: 1, category: "fail", tags: [] },
            { name: "bad", price: -1, category: "fail", tags: [] },
          ],
          tx,
          unbounded.signal,
        ),
      ),
    ).rejects.toThrow();
    const failed = await database.handle.db.execute(
      sql`SELECT count(*)::int AS n FROM products WHERE category = 'fail'`,
    );
    expect(JSON.stringify(failed)).toContain('"n":0');
  });

  test("listInBatches walks a category in (created_at, id) order across batches", async () => {
    const seen: ProductRow[] = [];
    for await (const batch of repo.listInBatches({ category: "many", after: undefined, limit: undefined }, unbounded)) {
      expect(batch.length).toBeLessThanOrEqual(7);
      seen.push(...batch);
    }
    const ordered = [...seen].sort((a, b) => a.createdAt.getTime() - b.createdAt.getTime() || (a.id < b.id ? -1 : 1));
    expect(seen.map((row) => row.id)).toEqual(ordered.map((row) => row.id));
    expect(seen.map((row) => row.name).sort()).toEqual(Array.from({ length: 10 }, (_, i) => `n${i}`));
  });

  test("updatePrice and deleteById report unknown ids", async () => {
    const row = await onConnection((c) => repo.create({ name: "P", price: 5, category: "", tags: [] }, c));
    expect((await onConnection((c) => repo.updatePrice(row.id, 6, c)))?.price).toBe(6);
    expect(await repo.getPrices([row.id], unbounded)).toEqual([{ id: row.id, price: 6 }]);
    expect(await onConnection((c) => repo.deleteById(row.id, c))).toBe(true);
    expect(await onConnection((c) => repo.deleteById(row.id, c))).toBe(false);
    expect(await onConnection((c) => repo.updatePrice(row.id, 7, c))).toBeUndefined();
  });
});
