// ListProducts through a real server: filters, keyset pages with signed
// tokens, a large category streamed whole, and paging under concurrent inserts.
import { Metadata, Status } from "nice-grpc-common";
import { eq } from "drizzle-orm";
import type { Product } from "../../gen/product/v1/product";
import { products as productsTable } from "../../src/db/schema";
import { NEXT_PAGE_TOKEN_KEY } from "../../src/services/product-service";
import { TEST_BACKENDS } from "../support/database";
import { collect, expectStatus, newProduct, streamOf } from "../support/products";
import { serveForSuite, startTestServer } from "../support/server";
import { whileNothingHappens } from "../support/wait";

describe.each(TEST_BACKENDS)("ListProducts on $name", (backend) => {
  const suite = serveForSuite(backend, { limits: { batchMaxItems: 20_000, watchMaxIds: 10 } });

  async function createInCategory(category: string, total: number): Promise<Product[]> {
    const { products } = await suite.server.client.batchCreateProducts(
      streamOf(Array.from({ length: total }, (_, i) => newProduct(i, category))),
    );
    return products;
  }

  /** One page: the products and the next-page-token trailer, if any. */
  async function page(request: { category?: string; pageSize: number; pageToken?: string }) {
    let trailer: Metadata | undefined;
    const products = await collect(
      suite.server.client.listProducts({ pageToken: "", ...request }, { onTrailer: (value) => (trailer = value) }),
    );
    return { products, next: trailer?.get(NEXT_PAGE_TOKEN_KEY) };
  }

  const order = (a: Product, b: Product) =>
    a.createdAt!.getTime() - b.createdAt!.getTime() || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

  test("streams every field of every product as stored, as GetProduct reads it", async () => {
    const client = suite.server.client;
    const stored = [
      { name: 'Ünïcode ☕ "quoted" \\ {braces}', price: 12.75, categoryId: "fields", tags: ["a", "b, c", "ü"] },
      { name: "no tags, zero price", price: 0, categoryId: "fields", tags: [] },
      { name: "x".repeat(200), price: 1e9 + 0.5, categoryId: "fields", tags: ["only"] },
    ];
    for (const product of stored) await client.createProduct({ ...product, requestId: "" });
    const outOfStock = await client.createProduct({
      name: "sold out",
      price: 3,
      categoryId: "fields",
      tags: [],
      requestId: "",
    });
    await suite.database.handle.db
      .update(productsTable)
      .set({ inStock: false })
      .where(eq(productsTable.id, outOfStock.id));

    const { products } = await page({ category: "fields", pageSize: 0 });
    expect(products).toHaveLength(4);
    for (const listed of products) expect(listed).toEqual(await client.getProduct({ id: listed.id }));
    expect(products.find((p) => p.id === outOfStock.id)?.inStock).toBe(false);
    expect(products.map((p) => p.name).sort()).toEqual([...stored.map((p) => p.name), "sold out"].sort());
  });

  test("streams a category of 10,000+ products complete and in (created_at, id) order", async () => {
    const created = await createInCategory("bulk", 10_050);
    await createInCategory("other", 5);
    const { products, next } = await page({ category: "bulk", pageSize: 0 });
    expect(next).toBeUndefined();
    expect(products).toHaveLength(10_050);
    expect(products.map((p) => p.id)).toEqual([...created].sort(order).map((p) => p.id));
    expect(new Set(products.map((p) => p.category))).toEqual(new Set(["bulk"]));
  });

  test("pages: at most page_size each, a token while more remain, none on the last page", async () => {
    await createInCategory("paged", 25);
    const first = await page({ category: "paged", pageSize: 10 });
    expect(first.products).toHaveLength(10);
    expect(first.next).toEqual(expect.any(String));
    const second = await page({ category: "paged", pageSize: 10, pageToken: first.next });
    const third = await page({ category: "paged", pageSize: 10, pageToken: second.next });
    expect(third.products).toHaveLength(5);
    expect(third.next).toBeUndefined();
    const all = [...first.products, ...second.products, ...third.products];
    expect(new Set(all.map((p) => p.id)).size).toBe(25);
    expect(all).toEqual([...all].sort(order));
    // A page that ends exactly at the last product carries no token either.
    expect((await page({ category: "paged", pageSize: 25 })).next).toBeUndefined();
  });

  test("a page that ends where the server's 1,000-row read ends still carries its token", async () => {
    const created = await createInCategory("boundary", 1_001);
    const first = await page({ category: "boundary", pageSize: 1_000 });
    expect(first.products).toHaveLength(1_000);
    expect(first.next).toEqual(expect.any(String));
    const second = await page({ category: "boundary", pageSize: 1_000, pageToken: first.next });
    expect(second.products).toHaveLength(1);
    expect(second.next).toBeUndefined();
    expect([...first.products, ...second.products].map((p) => p.id)).toEqual([...created].sort(order).map((p) => p.id));
  });

  test("no category lists every product; an empty category lists only the uncategorised", async () => {
    await createInCategory("", 2);
    const everything = await page({ pageSize: 0 });
    const uncategorised = await page({ category: "", pageSize: 0 });
    expect(uncategorised.products.length).toBeGreaterThanOrEqual(2);
    expect(uncategorised.products.every((p) => p.category === "")).toBe(true);
    expect(everything.products.length).toBeGreaterThan(uncategorised.products.length);
  });

  test("a negative page_size is INVALID_ARGUMENT", async () => {
    await expectStatus(
      collect(suite.server.client.listProducts({ pageSize: -1, pageToken: "" })),
      Status.INVALID_ARGUMENT,
      "page_size: must not be negative",
    );
  });

  test("a tampered token, a made-up token, or a token used with another filter is INVALID_ARGUMENT", async () => {
    await createInCategory("tokens", 3);
    const { next } = await page({ category: "tokens", pageSize: 1 });
    const [version, body, signature] = next!.split(".");
    const payload = JSON.parse(Buffer.from(body!, "base64url").toString()) as { t: number };
    payload.t -= 1000;
    const tampered = `${version}.${Buffer.from(JSON.stringify(payload)).toString("base64url")}.${signature}`;

    for (const token of [tampered, "garbage", `${next}x`, "v1..", "v1.e30.AAAA"]) {
      await expectStatus(
        collect(suite.server.client.listProducts({ category: "tokens", pageSize: 1, pageToken: token })),
        Status.INVALID_ARGUMENT,
        "page_token: is not a page token issued by this service",
      );
    }
    await expectStatus(
      collect(suite.server.client.listProducts({ category: "other", pageSize: 1, pageToken: next! })),
      Status.INVALID_ARGUMENT,
      /page_token: was issued for another filter/,
    );
    await expectStatus(
      collect(suite.server.client.listProducts({ pageSize: 1, pageToken: next! })),
      Status.INVALID_ARGUMENT,
      /another filter/,
    );
  });

  test("a token with anything appended, or its unused bits changed, is refused: tokens are read strictly", async () => {
    await createInCategory("strict", 3);
    const { next } = await page({ category: "strict", pageSize: 1 });
    const token = next!;
    const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    // The signature's last character carries 4 bits and 2 unused ones: flip one unused bit.
    const last = alphabet.indexOf(token[token.length - 1]!);
    const unusedBitsChanged = token.slice(0, -1) + alphabet[last ^ 1];
    expect(Buffer.from(unusedBitsChanged.split(".")[2]!, "base64url")).toEqual(
      Buffer.from(token.split(".")[2]!, "base64url"),
    );
    for (const malleated of [
      `${token}!`,
      `${token}=`,
      `${token}\u0000`,
      `${token} `,
      ` ${token}`,
      unusedBitsChanged,
      token.replace("v1.", "v1.."),
    ]) {
      await expectStatus(
        collect(suite.server.client.listProducts({ category: "strict", pageSize: 1, pageToken: malleated })),
        Status.INVALID_ARGUMENT,
        "page_token: is not a page token issued by this service",
      );
    }
    expect((await page({ category: "strict", pageSize: 1, pageToken: token })).products).toHaveLength(1);
  });

  test("paging visits every product exactly once while others are being inserted", async () => {
    const existing = await createInCategory("moving", 300);
    const seen: string[] = [];
    let token: string | undefined;
    let inserted = 0;
    do {
      const result = await page({ category: "moving", pageSize: 17, pageToken: token });
      seen.push(...result.products.map((p) => p.id));
      token = result.next;
      // Between pages, other clients add products to the same category.
      await Promise.all(
        [1, 2, 3].map((i) => suite.server.client.createProduct(newProduct(1000 + inserted + i, "moving"))),
      );
      inserted += 3;
    } while (token !== undefined);
    expect(new Set(seen).size).toBe(seen.length); // nothing twice
    const seenSet = new Set(seen);
    expect(existing.filter((p) => !seenSet.has(p.id))).toEqual([]); // nothing that existed was missed
  });
});

describe.each(TEST_BACKENDS)("ListProducts backpressure on $name", (backend) => {
  test("a reader that stalls stops the server fetching more batches; draining it fetches the rest", async () => {
    let listQueries = 0;
    const database = await backend.open({
      onQuery: (query) => void (/order by "products"\."created_at"/i.test(query) && (listQueries += 1)),
    });
    const server = await startTestServer(database, { limits: { batchMaxItems: 30_000, watchMaxIds: 10 } });
    try {
      const total = 30_000;
      for (let start = 0; start < total; start += 10_000) {
        await server.client.batchCreateProducts(
          streamOf(Array.from({ length: 10_000 }, (_, i) => newProduct(start + i, "stall"))),
        );
      }
      const iterator = server.client
        .listProducts({ category: "stall", pageSize: 0, pageToken: "" })
        [Symbol.asyncIterator]();
      expect((await iterator.next()).done).toBe(false);
      await whileNothingHappens(500, "more pages are not fetched while the client reads nothing");
      // 30 batches of 1,000 make up the listing; transport buffers hold a few.
      const fetchedWhileStalled = listQueries;
      expect(fetchedWhileStalled).toBeGreaterThanOrEqual(1);
      expect(fetchedWhileStalled).toBeLessThan(10);
      let received = 1;
      while (!(await iterator.next()).done) received += 1;
      expect(received).toBe(total);
      expect(listQueries).toBeGreaterThanOrEqual(30);
    } finally {
      await server.close();
      await database.close();
    }
  });
});
