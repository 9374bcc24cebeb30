// The typed client against real servers: deadlines, retries, request ids,
// typed errors and null for NOT_FOUND.
import { sql } from "drizzle-orm";
import postgres from "postgres";
import { ServerCredentials } from "@grpc/grpc-js";
import { createServer as createGrpcServer, ServerError, type Server } from "nice-grpc";
import { Status } from "nice-grpc-common";
import { ProductServiceDefinition, type WatchRequest } from "../../gen/product/v1/product";
import { createProductClient, ProductClientError, type ProductClient } from "../../src/client";
import { createCallObserver } from "../../src/observability/call-observer";
import { createLogger } from "../../src/observability/logger";
import { createCallTracker } from "../../src/transport/call-tracker";
import { createTransportServer } from "../../src/transport/transport-server";
import { describeOnPostgres, TEST_BACKENDS, type TestDatabase } from "../support/database";
import { newProduct, partialService, streamOf, UNKNOWN_ID } from "../support/products";
import { startTestServer, testToken, type TestServer } from "../support/server";
import { requestChannel, updatesReader } from "../support/streams";
import { until } from "../support/wait";

async function failure(call: Promise<unknown>): Promise<ProductClientError> {
  try {
    await call;
  } catch (error) {
    if (error instanceof ProductClientError) return error;
    throw error;
  }
  throw new Error("expected the call to fail");
}

describe.each(TEST_BACKENDS)("the typed client against the real server on $name", (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  let client: ProductClient;

  beforeAll(async () => {
    database = await backend.open();
    server = await startTestServer(database);
    const token = await testToken();
    client = createProductClient({ address: server.address, insecure: true, tokenProvider: () => token });
  });
  afterAll(async () => {
    client.close();
    await server.close();
    await database.close();
  });

  test("getProduct returns the product, or null on NOT_FOUND; other failures are typed errors", async () => {
    const created = await client.createProduct(newProduct(1));
    expect(await client.getProduct(created.id)).toEqual(created);
    expect(await client.getProduct(UNKNOWN_ID)).toBeNull();
    const error = await failure(client.getProduct("not-a-uuid"));
    expect(error.code).toBe(Status.INVALID_ARGUMENT);
    expect(error.codeName).toBe("INVALID_ARGUMENT");
    expect(error.details).toBe("id: must be a UUID");
    expect(error.requestId).toMatch(/^[0-9a-f-]{36}$/);
  });

  test("a request id given by the caller reaches the server's log", async () => {
    await client.getProduct(UNKNOWN_ID, { requestId: "caller-chosen-7" });
    expect(server.logs.find((line) => line.requestId === "caller-chosen-7")).toMatchObject({ code: "NOT_FOUND" });
  });

  test("the request id a calling service received is the one in the callee's log line", async () => {
    // A second service, on the same transport (one call scope per call), whose handler calls this one.
    const gateway = createTransportServer({
      deadlines: { defaultMs: 10_000, maxMs: 60_000, longLived: new Set() },
      calls: createCallTracker(),
      observer: createCallObserver(createLogger("silent")),
      onUnexpectedError: () => undefined,
    });
    gateway.add(
      ProductServiceDefinition,
      partialService({
        async getProduct(request) {
          const product = await client.getProduct(request.id);
          if (product === null) throw new ServerError(Status.NOT_FOUND, "not found");
          return product;
        },
      }),
    );
    const port = await gateway.listen("127.0.0.1", 0);
    const caller = createProductClient({ address: `127.0.0.1:${port}`, insecure: true });
    try {
      const created = await client.createProduct(newProduct(2));
      await caller.getProduct(created.id, { requestId: "edge-request-123" });
      expect(server.logs.find((line) => line.requestId === "edge-request-123")).toMatchObject({
        method: "/product.v1.ProductService/GetProduct",
        code: "OK",
      });
    } finally {
      caller.close();
      gateway.destroy();
    }
  });
});

describe.each(TEST_BACKENDS)("WatchPrices through the client on $name", (backend) => {
  test("re-subscribes when its replica shuts down, and keeps delivering prices from the next one", async () => {
    const database = await backend.open();
    const first = await startTestServer(database);
    const token = await testToken();
    const client = createProductClient({
      address: first.address,
      insecure: true,
      token,
      retry: { maxAttempts: 50, initialBackoffMs: 20, maxBackoffMs: 200 },
    });
    let second: TestServer | undefined;
    try {
      const product = await client.createProduct(newProduct(1));
      const requests = requestChannel<WatchRequest>();
      const controller = new AbortController();
      const reader = updatesReader(client.watchPrices(requests, { signal: controller.signal }));
      requests.send({ productIds: [product.id] });
      await reader.waitFor(1);

      // The replica goes away (its streams end with UNAVAILABLE); another takes its address.
      expect(await first.app.shutdown(2_000)).toBe(true);
      await first.close();
      second = await startTestServer(database, {}, undefined, first.address);
      await database.handle.db.execute(sql`UPDATE products SET price = 64 WHERE id = ${product.id}`);
      await until(
        () => reader.received[reader.received.length - 1]?.newPrice === 64 || reader.failure !== undefined,
        10_000,
      );
      expect(reader.failure).toBeUndefined();
      expect(reader.received[reader.received.length - 1]).toMatchObject({ productId: product.id, newPrice: 64 });
      controller.abort();
      await reader.done;
    } finally {
      client.close();
      await second?.close();
      await database.close();
    }
  });
});

describeOnPostgres("the client's default deadline", (backend) => {
  test("a call to a handler slowed past it fails with a typed DEADLINE_EXCEEDED at that deadline", async () => {
    const database = await backend.open();
    const server = await startTestServer(database);
    const token = await testToken();
    const client = createProductClient({ address: server.address, insecure: true, token, defaultDeadlineMs: 300 });
    const locker = postgres(database.url as string, { max: 1, onnotice: () => undefined });
    try {
      const created = await client.createProduct(newProduct(1));
      await locker.begin(async (tx) => {
        await tx`LOCK TABLE products IN ACCESS EXCLUSIVE MODE`;
        const started = Date.now();
        const error = await failure(client.getProduct(created.id));
        const elapsed = Date.now() - started;
        expect(error.code).toBe(Status.DEADLINE_EXCEEDED);
        expect(elapsed).toBeGreaterThanOrEqual(280);
        expect(elapsed).toBeLessThan(2_000);
      });
    } finally {
      await locker.end();
      client.close();
      await server.close();
      await database.close();
    }
  });
});

describe("retries", () => {
  let server: Server;
  let address: string;
  const calls = { getProduct: 0, createProduct: 0, batchCreateProducts: 0 };
  const keysSent: string[] = [];
  let failuresBeforeSuccess = 0;

  beforeAll(async () => {
    // A server that answers UNAVAILABLE as told, as a replica going away does.
    server = createGrpcServer();
    server.add(
      ProductServiceDefinition,
      partialService({
        async getProduct(request) {
          calls.getProduct += 1;
          if (calls.getProduct <= failuresBeforeSuccess)
            throw new ServerError(Status.UNAVAILABLE, "try another replica");
          return { id: request.id, name: "found", price: 1, category: "", inStock: true, tags: [] };
        },
        async createProduct(request) {
          calls.createProduct += 1;
          keysSent.push(request.requestId);
          throw new ServerError(Status.UNAVAILABLE, "try another replica");
        },
        async batchCreateProducts(requests) {
          calls.batchCreateProducts += 1;
          for await (const request of requests) keysSent.push(request.requestId);
          throw new ServerError(Status.UNAVAILABLE, "try another replica");
        },
      }),
    );
    address = `127.0.0.1:${await server.listen("127.0.0.1:0", ServerCredentials.createInsecure())}`;
  });
  afterAll(() => server.shutdown());
  beforeEach(() => {
    calls.getProduct = 0;
    calls.createProduct = 0;
    calls.batchCreateProducts = 0;
    keysSent.length = 0;
  });

  test("an idempotent read is retried on UNAVAILABLE until it succeeds", async () => {
    failuresBeforeSuccess = 2;
    const client = createProductClient({
      address,
      insecure: true,
      retry: { maxAttempts: 5, initialBackoffMs: 5, maxBackoffMs: 20 },
    });
    expect(await client.getProduct(UNKNOWN_ID)).toMatchObject({ name: "found" });
    expect(calls.getProduct).toBe(3);
    client.close();
  });

  test("retries stop within the call's deadline", async () => {
    failuresBeforeSuccess = Number.POSITIVE_INFINITY;
    const client = createProductClient({
      address,
      insecure: true,
      defaultDeadlineMs: 300,
      retry: { maxAttempts: 1_000, initialBackoffMs: 20, maxBackoffMs: 100 },
    });
    const started = Date.now();
    const error = await failure(client.getProduct(UNKNOWN_ID));
    expect(Date.now() - started).toBeLessThan(1_500);
    expect(["UNAVAILABLE", "DEADLINE_EXCEEDED"]).toContain(error.codeName);
    expect(calls.getProduct).toBeGreaterThan(1);
    expect(calls.getProduct).toBeLessThan(1_000);
    client.close();
  });

  test("a write is retried with one idempotency key for every attempt", async () => {
    const client = createProductClient({
      address,
      insecure: true,
      retry: { maxAttempts: 5, initialBackoffMs: 5, maxBackoffMs: 20 },
    });
    expect((await failure(client.createProduct(newProduct(1)))).code).toBe(Status.UNAVAILABLE);
    expect(calls.createProduct).toBe(5);
    expect(new Set(keysSent).size).toBe(1);
    expect(keysSent[0]).toMatch(/^[0-9a-f-]{36}$/);
    // The next logical write gets a key of its own.
    await failure(client.createProduct(newProduct(2)));
    expect(new Set(keysSent).size).toBe(2);
    client.close();
  });

  test("a key the caller sets is the one sent", async () => {
    const client = createProductClient({ address, insecure: true, retry: false });
    await failure(client.createProduct({ ...newProduct(1), requestId: "5f1d3a2b-9c8e-4f7a-b6d5-4c3b2a190817" }));
    expect(keysSent).toEqual(["5f1d3a2b-9c8e-4f7a-b6d5-4c3b2a190817"]);
    client.close();
  });

  test("a batch is sent once (its stream cannot be replayed), its key on the first item only", async () => {
    const client = createProductClient({
      address,
      insecure: true,
      retry: { maxAttempts: 5, initialBackoffMs: 5, maxBackoffMs: 20 },
    });
    expect((await failure(client.batchCreateProducts(streamOf([newProduct(1), newProduct(2)])))).code).toBe(
      Status.UNAVAILABLE,
    );
    expect(calls.batchCreateProducts).toBe(1);
    expect(keysSent).toEqual([expect.stringMatching(/^[0-9a-f-]{36}$/), ""]);
    client.close();
  });
});
