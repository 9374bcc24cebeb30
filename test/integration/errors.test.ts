// Failures reach clients as status codes with messages written by the
// service: no SQL, stack trace or driver text. The full error goes to the log.
import { sql } from "drizzle-orm";
import { createClient } from "nice-grpc";
import { Status } from "nice-grpc-common";
import { HealthDefinition } from "nice-grpc-server-health";
import { ServingStatus, type ServingStatusValue } from "../support/health";
import { PRODUCT_SERVICE_NAME } from "../../src/server";
import { describeOnPostgres, openBehindProxy, TEST_BACKENDS, type ProxiedDatabase } from "../support/database";
import { expectStatus, newProduct } from "../support/products";
import { serveForSuite, startTestServer, type TestServer } from "../support/server";
import type { TcpProxy } from "../support/tcp-proxy";
import { until } from "../support/wait";

const INTERNALS = /select|insert|update|products|column|relation|postgres|drizzle|Error:|at .*\(|\.ts:/i;

describe.each(TEST_BACKENDS)("an unknown failure on $name", (backend) => {
  const suite = serveForSuite(backend);

  test("is INTERNAL with a generic message carrying the request id; the log has the error", async () => {
    const created = await suite.server.client.createProduct(newProduct(1));
    // The schema drifts under the service (as after a bad manual change).
    await suite.database.handle.db.execute(sql`ALTER TABLE products RENAME COLUMN name TO title`);
    try {
      const error = await expectStatus(
        suite.server.client.updatePrice({ id: created.id, price: 2 }),
        Status.INTERNAL,
        /^internal error \(request id [0-9a-f-]{36}\)$/,
      );
      expect(error.details).not.toMatch(INTERNALS);
      const requestId = /request id (.*)\)/.exec(error.details)![1];
      const logged = suite.server.logs.find((line) => line.msg === "unhandled error" && line.requestId === requestId);
      expect(JSON.stringify(logged)).toMatch(/name/);
    } finally {
      await suite.database.handle.db.execute(sql`ALTER TABLE products RENAME COLUMN title TO name`);
    }
  });
});

describeOnPostgres("the database going away", () => {
  let proxy: TcpProxy;
  let server: TestServer;
  let database: ProxiedDatabase;

  beforeAll(async () => {
    database = await openBehindProxy();
    proxy = database.proxy;
    server = await startTestServer(database);
  });
  afterAll(async () => {
    await server.close();
    await database.close();
  });

  test("is UNAVAILABLE with no internals, and calls succeed again once it is back", async () => {
    const created = await server.client.createProduct(newProduct(1));
    proxy.cut();
    for (const call of [
      () => server.client.getProduct({ id: created.id }),
      () => server.client.createProduct(newProduct(2)),
    ]) {
      const error = await expectStatus(call(), Status.UNAVAILABLE, "the database is unavailable; retry later");
      expect(error.details).not.toMatch(INTERNALS);
    }
    proxy.restore();
    // The first call that succeeds comes within a second of the database's return.
    const answered = await until(async () => {
      const answer = await server.client.getProduct({ id: created.id }).catch((error: { code: Status }) => error);
      if (!("id" in answer)) expect(answer.code).toBe(Status.UNAVAILABLE);
      return "id" in answer;
    }, 1_000);
    expect(answered).toBeLessThan(1_000);
  });

  test("health turns NOT_SERVING while the database is cut off and SERVING once it is back, with no restart", async () => {
    const health = createClient(HealthDefinition, server.channel);
    const seen: ServingStatusValue[] = [];
    const controller = new AbortController();
    const watching = (async () => {
      for await (const { status } of health.watch({ service: PRODUCT_SERVICE_NAME }, { signal: controller.signal }))
        seen.push(status);
    })().catch(() => undefined);
    const watched = (status: ServingStatusValue) => () => seen[seen.length - 1] === status;
    await until(watched(ServingStatus.SERVING), 10_000);
    proxy.cut();
    await until(watched(ServingStatus.NOT_SERVING), 10_000);
    await until(async () => (await health.check({ service: "" })).status === ServingStatus.NOT_SERVING);
    proxy.restore();
    await until(watched(ServingStatus.SERVING), 10_000);
    controller.abort();
    await watching;
  });
});
