// Helpers for tests that talk to ProductService and look at the database.
import { count, sql } from "drizzle-orm";
import { ClientError, ServerError, Status } from "nice-grpc-common";
import type { ProductServiceImplementation } from "../../gen/product/v1/product";
import type { Database } from "../../src/db/client";
import { products } from "../../src/db/schema";

export async function productCount(db: Database, category?: string): Promise<number> {
  const query = db.select({ n: count() }).from(products);
  const [row] = category === undefined ? await query : await query.where(sql`${products.category} = ${category}`);
  return row?.n ?? 0;
}

/** Resolves to the ClientError a call failed with; fails the test when it succeeded. */
export async function rpcError(call: Promise<unknown> | (() => Promise<unknown>)): Promise<ClientError> {
  try {
    await (typeof call === "function" ? call() : call);
  } catch (error) {
    if (error instanceof ClientError) return error;
    throw error;
  }
  throw new Error("expected the call to fail");
}

export async function expectStatus(
  call: Promise<unknown> | (() => Promise<unknown>),
  code: Status,
  details?: RegExp | string,
) {
  const error = await rpcError(call);
  expect(Status[error.code]).toBe(Status[code]);
  if (details !== undefined) {
    if (typeof details === "string") expect(error.details).toBe(details);
    else expect(error.details).toMatch(details);
  }
  return error;
}

export async function* streamOf<T>(items: Iterable<T>): AsyncGenerator<T> {
  for (const item of items) yield item;
}

export async function collect<T>(iterable: AsyncIterable<T>): Promise<T[]> {
  const items: T[] = [];
  for await (const item of iterable) items.push(item);
  return items;
}

export function newProduct(index: number, category = "general") {
  return {
    name: `product ${index}`,
    price: index + 0.25,
    categoryId: category,
    tags: [`t${index % 3}`],
    requestId: "",
  };
}

export const UNKNOWN_ID = "00000000-0000-4000-8000-000000000000";

/** A ProductService whose methods are `partial`'s, the rest UNIMPLEMENTED. */
export function partialService(partial: Partial<ProductServiceImplementation>): ProductServiceImplementation {
  const unimplemented = async () => {
    throw new ServerError(Status.UNIMPLEMENTED, "not here");
  };
  const unimplementedStream = async function* () {
    yield* [];
    throw new ServerError(Status.UNIMPLEMENTED, "not here");
  };
  return {
    getProduct: unimplemented,
    createProduct: unimplemented,
    deleteProduct: unimplemented,
    updatePrice: unimplemented,
    batchCreateProducts: unimplemented,
    listProducts: unimplementedStream,
    watchPrices: unimplementedStream,
    ...partial,
  };
}
