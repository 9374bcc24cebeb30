// Metrics scraped over HTTP after real traffic, checked by Prometheus's own
// promtool when it is installed (CI installs it: Debian's prometheus package).
import { execFileSync, spawnSync } from "node:child_process";
import { createClient } from "nice-grpc";
import { Status } from "nice-grpc-common";
import { HealthDefinition } from "nice-grpc-server-health";
import type { WatchRequest } from "../../gen/product/v1/product";
import { requestChannel } from "../support/streams";
import { createMetrics, startMetricsServer } from "../../src/observability/metrics";
import { TEST_BACKENDS, type TestDatabase } from "../support/database";
import { collect, newProduct, rpcError, streamOf, UNKNOWN_ID } from "../support/products";
import { startTestServer, type TestServer } from "../support/server";

describe.each(TEST_BACKENDS)("metrics on $name", (backend) => {
  let database: TestDatabase;
  let server: TestServer;
  let scrapeUrl: string;
  let closeMetrics: () => Promise<void>;

  beforeAll(async () => {
    database = await backend.open();
    const metrics = createMetrics({ connectionsInUse: () => database.handle.connectionsInUse() });
    server = await startTestServer(database, { metrics });
    const http = await startMetricsServer(metrics.registry, "127.0.0.1", 0);
    scrapeUrl = `http://127.0.0.1:${http.port}/metrics`;
    closeMetrics = () => http.close();
  });
  afterAll(async () => {
    await closeMetrics();
    await server.close();
    await database.close();
  });

  test("counts calls by method and code, times them, counts stream messages and connections", async () => {
    const created = await server.client.createProduct(newProduct(1, "metrics"));
    await server.client.getProduct({ id: created.id });
    await server.client.getProduct({ id: created.id });
    expect((await rpcError(server.client.getProduct({ id: UNKNOWN_ID }))).code).toBe(Status.NOT_FOUND);
    await server.client.batchCreateProducts(streamOf([newProduct(2, "metrics"), newProduct(3, "metrics")]));
    await collect(server.client.listProducts({ category: "metrics", pageSize: 0, pageToken: "" }));

    const response = await fetch(scrapeUrl);
    expect(response.status).toBe(200);
    const text = await response.text();
    const get = 'grpc_service="product.v1.ProductService",grpc_method="GetProduct",grpc_type="unary"';
    expect(text).toContain(`grpc_server_started_total{${get}} 3`);
    expect(text).toContain(`grpc_server_handled_total{${get},grpc_code="OK"} 2`);
    expect(text).toContain(`grpc_server_handled_total{${get},grpc_code="NotFound"} 1`);
    expect(text).toMatch(new RegExp(`grpc_server_handling_seconds_count\\{${get.replace(/[.]/g, "\\.")}\\} 3`));
    expect(text).toContain(
      'grpc_server_msg_received_total{grpc_service="product.v1.ProductService",grpc_method="BatchCreateProducts",grpc_type="client_stream"} 2',
    );
    expect(text).toContain(
      'grpc_server_msg_sent_total{grpc_service="product.v1.ProductService",grpc_method="ListProducts",grpc_type="server_stream"} 3',
    );
    expect(text).toMatch(/^db_pool_connections_in_use \d+$/m);
    expect((await fetch(scrapeUrl.replace("/metrics", "/other"))).status).toBe(404);
  });

  const labels = (method: string, type: string, service = "product.v1.ProductService") =>
    `grpc_service="${service}",grpc_method="${method}",grpc_type="${type}"`;

  test("every method's series exist at zero before its first call, health included; codes are named as go-grpc-prometheus names them", async () => {
    const text = await (await fetch(scrapeUrl)).text();
    expect(text).toContain(`grpc_server_started_total{${labels("DeleteProduct", "unary")}} 0`);
    expect(text).toContain(
      `grpc_server_handled_total{${labels("DeleteProduct", "unary")},grpc_code="DeadlineExceeded"} 0`,
    );
    expect(text).toContain(`grpc_server_msg_sent_total{${labels("WatchPrices", "bidi_stream")}} 0`);
    expect(text).toContain(
      `grpc_server_handled_total{${labels("Watch", "server_stream", "grpc.health.v1.Health")},grpc_code="Unavailable"} 0`,
    );
    await createClient(HealthDefinition, server.channel).check({ service: "" });
    expect(await (await fetch(scrapeUrl)).text()).toContain(
      `grpc_server_handled_total{${labels("Check", "unary", "grpc.health.v1.Health")},grpc_code="OK"} 1`,
    );
  });

  test("unary calls count their messages, and an open stream's counters move while it is open", async () => {
    const product = await server.client.createProduct(newProduct(9, "metrics-live"));
    const count = async (name: string, method: string, type: string) =>
      Number(
        new RegExp(`${name}\\{${labels(method, type)}\\} (\\d+)`).exec(await (await fetch(scrapeUrl)).text())?.[1],
      );
    expect(await count("grpc_server_msg_received_total", "CreateProduct", "unary")).toBeGreaterThanOrEqual(1);
    expect(await count("grpc_server_msg_sent_total", "CreateProduct", "unary")).toBeGreaterThanOrEqual(1);
    const requests = requestChannel<WatchRequest>();
    const controller = new AbortController();
    const updates = server.client.watchPrices(requests, { signal: controller.signal })[Symbol.asyncIterator]();
    requests.send({ productIds: [product.id] });
    await updates.next();
    expect(await count("grpc_server_msg_sent_total", "WatchPrices", "bidi_stream")).toBe(1);
    expect(await count("grpc_server_msg_received_total", "WatchPrices", "bidi_stream")).toBe(1);
    controller.abort();
    await updates.next().catch(() => undefined);
  });

  // Skipped only where promtool is missing outside CI: CI installs it, so there the check always runs.
  const promtool = spawnSync("promtool", ["--version"]).status === 0 || process.env.CI === "true";
  (promtool ? test : test.skip)("the exposition passes `promtool check metrics`", async () => {
    const text = await (await fetch(scrapeUrl)).text();
    expect(execFileSync("promtool", ["check", "metrics"], { input: text, encoding: "utf8" })).toBe("");
  });
});
