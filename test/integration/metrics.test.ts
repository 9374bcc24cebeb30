// Metrics scraped over HTTP after real traffic.
import { Status } from "nice-grpc-common";
import { createMetrics, startMetricsServer } from "../../src/metrics";
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
    closeMetrics = http.close;
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
    expect(text).toContain('grpc_server_msg_received_total{grpc_service="product.v1.ProductService",grpc_method="BatchCreateProducts",grpc_type="client_stream"} 2');
    expect(text).toContain('grpc_server_msg_sent_total{grpc_service="product.v1.ProductService",grpc_method="ListProducts",grpc_type="server_stream"} 3');
    expect(text).toMatch(/^db_pool_connections_in_use \d+$/m);
    expect((await fetch(scrapeUrl.replace("/metrics", "/other"))).status).toBe(404);
  });
});
