// Deadlines, as the server keeps them, asserted by what the server did (its
// log line, the rows written, the queries still running on PostgreSQL) rather
// than by the client's own timer. The grpc-timeout header is sent by hand, so
// any text can be tried. On PostgreSQL, another session's lock slows the
// handler: calls end at their deadline (the client's, the default or the
// ceiling), the query in flight is cancelled on the server, a write that did
// not commit leaves nothing behind, and long-lived streams are exempt.
import postgres from "postgres";
import { Status } from "nice-grpc-common";
import {
  CreateProductRequest,
  GetProductRequest,
  ListProductsRequest,
  PriceUpdate,
  UpdatePriceRequest,
  WatchRequest,
} from "../../gen/product/v1/product";
import { describeOnPostgres, TEST_BACKENDS, type TestDatabase } from "../support/database";
import { expectStatus, newProduct, productCount } from "../support/products";
import { rawCall, rawSession } from "../support/raw-grpc";
import { serveForSuite, startTestServer, testToken, type TestServer } from "../support/server";
import { requestChannel, updatesReader } from "../support/streams";
import { until, whileNothingHappens } from "../support/wait";

const DEFAULT_MS = 400;
const MAX_MS = 1_500;
const SERVICE = "/product.v1.ProductService";

/** The server's log line of the call with this request id. */
function logLineOf(server: TestServer, requestId: string): Record<string, unknown> | undefined {
  return server.logs.find((line) => line.msg === "call" && line.requestId === requestId);
}

describe.each(TEST_BACKENDS)("the grpc-timeout header on $name", (backend) => {
  const suite = serveForSuite(backend, { deadlines: { defaultMs: DEFAULT_MS, maxMs: MAX_MS } });
  let requestNumber = 0;

  async function call(path: string, messages: Uint8Array[], timeout: string | undefined, end = true) {
    const requestId = `timeout-test-${(requestNumber += 1)}`;
    const headers: Record<string, string> = { authorization: `Bearer ${await testToken()}`, "x-request-id": requestId };
    if (timeout !== undefined) headers["grpc-timeout"] = timeout;
    const session = rawSession(suite.server.address);
    const started = rawCall(session, path, messages, headers, end);
    return { ...started, requestId, session };
  }

  test.each(["0S", "0n", "1n", "999u"])(
    "%s: a create whose budget is spent on arrival is DEADLINE_EXCEEDED and writes nothing",
    async (timeout) => {
      const category = `spent-${timeout}`;
      const { response, requestId, session } = await call(
        `${SERVICE}/CreateProduct`,
        [CreateProductRequest.encode(newProduct(1, category)).finish()],
        timeout,
      );
      try {
        expect(await response).toMatchObject({ status: Status.DEADLINE_EXCEEDED, message: "deadline exceeded" });
        expect(logLineOf(suite.server, requestId)).toMatchObject({ code: "DEADLINE_EXCEEDED" });
        expect(await productCount(suite.database.handle.db, category)).toBe(0);
      } finally {
        session.close();
      }
    },
  );

  test.each(["abc", "-1S", "999999999S", "1.5S", "10", "1 S", "1S,2S", "1s"])(
    "%s is refused as malformed without being echoed, and writes nothing",
    async (timeout) => {
      const category = `malformed-${Buffer.from(timeout).toString("hex")}`;
      const { response, requestId, session } = await call(
        `${SERVICE}/CreateProduct`,
        [CreateProductRequest.encode(newProduct(1, category)).finish()],
        timeout,
      );
      try {
        const answer = await response;
        expect(answer).toMatchObject({
          status: Status.INVALID_ARGUMENT,
          message: "the grpc-timeout header is malformed",
        });
        expect(logLineOf(suite.server, requestId)).toMatchObject({ code: "INVALID_ARGUMENT" });
        expect(await productCount(suite.database.handle.db, category)).toBe(0);
      } finally {
        session.close();
      }
    },
  );

  test.each(["720H", "2160000S", "99999999H"])(
    "%s, beyond the timer limit, is capped rather than overflowed: unary and streams run",
    async (timeout) => {
      const created = await suite.server.client.createProduct(newProduct(1, `long-${timeout}`));
      const get = await call(`${SERVICE}/GetProduct`, [GetProductRequest.encode({ id: created.id }).finish()], timeout);
      const list = await call(
        `${SERVICE}/ListProducts`,
        [ListProductsRequest.encode({ category: `long-${timeout}`, pageSize: 0, pageToken: "" }).finish()],
        timeout,
      );
      const watch = await call(
        `${SERVICE}/WatchPrices`,
        [WatchRequest.encode({ productIds: [created.id] }).finish()],
        timeout,
        false,
      );
      try {
        expect(await get.response).toMatchObject({ status: Status.OK });
        const listed = await list.response;
        expect(listed).toMatchObject({ status: Status.OK });
        expect(listed.messages).toHaveLength(1);
        // The watch stays open and sends the current price; it is not expired at once.
        await until(() => watch.received().length > 0);
        expect(PriceUpdate.decode(watch.received()[0]!)).toMatchObject({
          productId: created.id,
          newPrice: created.price,
        });
        await whileNothingHappens(100, "the watch is not expired");
        expect(watch.stream.closed).toBe(false);
        watch.stream.close();
        await until(() => logLineOf(suite.server, watch.requestId) !== undefined);
        expect(logLineOf(suite.server, watch.requestId)).toMatchObject({ code: "CANCELLED" });
      } finally {
        get.session.close();
        list.session.close();
        watch.session.close();
      }
    },
  );
});

describeOnPostgres("deadlines", (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  let observer: postgres.Sql;

  beforeAll(async () => {
    database = await backend.open();
    server = await startTestServer(database, { deadlines: { defaultMs: DEFAULT_MS, maxMs: MAX_MS } });
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
    const [row] = await observer<{ n: number }[]>`
      SELECT count(*)::int AS n FROM pg_stat_activity
      WHERE datname = current_database() AND application_name = 'product-service' AND state = 'active'`;
    return row?.n ?? 0;
  }

  test("a call without a deadline to a slowed handler is DEADLINE_EXCEEDED at the default, and its query is cancelled", async () => {
    const product = await server.client.createProduct(newProduct(1));
    await whileLocked(async () => {
      const started = Date.now();
      await expectStatus(
        server.client.updatePrice({ id: product.id, price: 2 }),
        Status.DEADLINE_EXCEEDED,
        "deadline exceeded",
      );
      const elapsed = Date.now() - started;
      expect(elapsed).toBeGreaterThanOrEqual(DEFAULT_MS - 50);
      expect(elapsed).toBeLessThan(DEFAULT_MS + 1_000);
      // Still inside the lock: the UPDATE must not be waiting for it any more.
      await until(async () => (await serviceQueriesInFlight()) === 0, 3_000);
    });
    expect((await server.client.getProduct({ id: product.id })).price).toBe(product.price);
  });

  test("a slow query is cancelled on PostgreSQL once the client's deadline passes", async () => {
    const product = await server.client.createProduct(newProduct(2));
    await whileLocked(async () => {
      const call = server.client.updatePrice({ id: product.id, price: 3 }, { signal: AbortSignal.timeout(150) });
      await expect(call).rejects.toThrow();
      await until(async () => (await serviceQueriesInFlight()) === 0, 3_000);
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
    await whileNothingHappens(DEFAULT_MS * 2, "the watch outlives the default deadline");
    await server.client.updatePrice({ id: product.id, price: 9 });
    expect((await reader.waitFor(2))[1]).toMatchObject({ newPrice: 9 });
    controller.abort();
    await reader.done;
  });

  /** Sends UpdatePrice by hand with these extra headers; resolves to the server's log line once the call ended. */
  async function updatePriceRaw(id: string, headers: Record<string, string>) {
    const requestId = `lock-test-${Math.random().toString(16).slice(2)}`;
    const session = rawSession(server.address);
    try {
      const { response } = rawCall(
        session,
        `${SERVICE}/UpdatePrice`,
        [UpdatePriceRequest.encode(UpdatePriceRequest.fromPartial({ id, price: 123 })).finish()],
        {
          authorization: `Bearer ${await testToken()}`,
          "x-request-id": requestId,
          ...headers,
        },
      );
      const answer = await response;
      return { answer, line: logLineOf(server, requestId) };
    } finally {
      session.close();
    }
  }

  test.each([
    ["a deadline shorter than the default", { "grpc-timeout": "150m" }, 150],
    ["a deadline longer than the ceiling", { "grpc-timeout": "30S" }, MAX_MS],
    [
      "no deadline, with a forged internal deadline header",
      { "x-call-deadline-ms": String(Date.now() + 60_000) },
      DEFAULT_MS,
    ],
  ])("%s: the server ends the call at the right time and cancels its query", async (_, headers, expectedMs) => {
    const product = await server.client.createProduct(newProduct(10));
    await whileLocked(async () => {
      const { answer, line } = await updatePriceRaw(product.id, headers);
      expect(answer.status).toBe(Status.DEADLINE_EXCEEDED);
      expect(line).toMatchObject({ code: "DEADLINE_EXCEEDED" });
      expect(line?.durationMs).toBeGreaterThanOrEqual(expectedMs - 20);
      expect(line?.durationMs).toBeLessThan(expectedMs + 500);
      await until(async () => (await serviceQueriesInFlight()) === 0, 3_000);
    });
    expect((await server.client.getProduct({ id: product.id })).price).toBe(product.price);
  });

  test("a create whose deadline passes while its statement waits is stopped alone: the creates sent with it are kept", async () => {
    const token = await testToken();
    const session = rawSession(server.address);
    const create = (index: number, category: string, timeout: string) =>
      rawCall(
        session,
        `${SERVICE}/CreateProduct`,
        [CreateProductRequest.encode(newProduct(index, category)).finish()],
        {
          authorization: `Bearer ${token}`,
          "grpc-timeout": timeout,
        },
      ).response;
    try {
      // Sent together, so the server writes them as one statement, which waits on the lock.
      const started = Date.now();
      const { expiring, kept } = await whileLocked(async () => {
        const expiring = create(0, "coalesced-expired", "150m");
        const kept = [1, 2, 3].map((index) => create(index, "coalesced-kept", "1400m"));
        expect((await expiring).status).toBe(Status.DEADLINE_EXCEEDED);
        return { expiring: Date.now() - started, kept };
      });
      expect(expiring).toBeLessThan(150 + 500);
      expect((await Promise.all(kept)).map((answer) => answer.status)).toEqual([Status.OK, Status.OK, Status.OK]);
    } finally {
      session.close();
    }
    expect(await productCount(database.handle.db, "coalesced-expired")).toBe(0);
    expect(await productCount(database.handle.db, "coalesced-kept")).toBe(3);
  });

  test("a batch whose deadline passes while it is being written rolls back: nothing is kept", async () => {
    const items = Array.from({ length: 50 }, (_, i) =>
      CreateProductRequest.encode(newProduct(i, "expired-batch")).finish(),
    );
    await whileLocked(async () => {
      const session = rawSession(server.address);
      try {
        const { response } = rawCall(session, `${SERVICE}/BatchCreateProducts`, items, {
          authorization: `Bearer ${await testToken()}`,
          "grpc-timeout": "300m",
        });
        expect((await response).status).toBe(Status.DEADLINE_EXCEEDED);
      } finally {
        session.close();
      }
      await until(async () => (await serviceQueriesInFlight()) === 0, 3_000);
    });
    expect(await productCount(database.handle.db, "expired-batch")).toBe(0);
  });
});
