// The repository against real databases: what the service relies on.
import { sql } from "drizzle-orm";
import { createProductRepo, type ProductRepo, type ProductRow } from "../../src/repos/product-repo";
import { TEST_BACKENDS, type TestDatabase } from "../support/database";

/** Work that nothing stops. */
const unbounded = { signal: new AbortController().signal, remainingMs: () => undefined };

describe.each(TEST_BACKENDS)("product repo on $name", (backend) => {
  let database: TestDatabase;
  let repo: ProductRepo;

  beforeAll(async () => {
    database = await backend.open();
    repo = createProductRepo(database.handle, { listBatchSize: 7, insertChunkSize: 3 });
  });
  afterAll(() => database.close());

  test("create stores defaults and round-trips the price exactly", async () => {
    const created = await repo.create({ name: "Pen", price: 0.1 + 0.2, category: "office", tags: ["a", "b"] }, unbounded);
    expect(created).toMatchObject({ name: "Pen", price: 0.1 + 0.2, category: "office", inStock: true, tags: ["a", "b"] });
    expect(created.createdAt).toBeInstanceOf(Date);
    expect(await repo.getById(created.id)).toEqual(created);
  });

  test("point reads in one turn share a query and each gets its own row", async () => {
    const a = await repo.create({ name: "A", price: 1, category: "", tags: [] }, unbounded);
    const b = await repo.create({ name: "B", price: 2, category: "", tags: [] }, unbounded);
    const missing = "00000000-0000-4000-8000-000000000000";
    const [ra, rb, rm, ra2] = await Promise.all([repo.getById(a.id), repo.getById(b.id), repo.getById(missing), repo.getById(a.id)]);
    expect([ra?.name, rb?.name, rm, ra2?.name]).toEqual(["A", "B", undefined, "A"]);
  });

  test("createMany is all or nothing and keeps the order", async () => {
    const rows = await repo.createMany(Array.from({ length: 10 }, (_, i) => ({ name: `n${i}`, price: i, category: "many", tags: [] })), unbounded);
    expect(rows.map((row) => row.name)).toEqual(Array.from({ length: 10 }, (_, i) => `n${i}`));
    const [exact] = await repo.createMany([{ name: "exact", price: 0.1 + 0.2, category: "exact", tags: ["a b", 'q"uote', "{brace}", "", "back\\slash", "NULL"] }], unbounded);
    expect(await repo.getById(exact!.id)).toEqual(exact);
    expect(exact).toMatchObject({ price: 0.1 + 0.2, tags: ["a b", 'q"uote', "{brace}", "", "back\\slash", "NULL"], inStock: true });
    await expect(
      repo.createMany([
        { name: "ok", price: 1, category: "fail", tags: [] },
        { name: "bad", price: -1, category: "fail", tags: [] },
        ], unbounded),
    ).rejects.toThrow();
    const failed = await database.handle.db.execute(sql`SELECT count(*)::int AS n FROM products WHERE category = 'fail'`);
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
    const row = await repo.create({ name: "P", price: 5, category: "", tags: [] }, unbounded);
    expect((await repo.updatePrice(row.id, 6, unbounded))?.price).toBe(6);
    expect(await repo.getPrices([row.id], unbounded)).toEqual([{ id: row.id, price: 6 }]);
    expect(await repo.deleteById(row.id, unbounded)).toBe(true);
    expect(await repo.deleteById(row.id, unbounded)).toBe(false);
    expect(await repo.updatePrice(row.id, 7, unbounded)).toBeUndefined();
  });
});
