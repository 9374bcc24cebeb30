// A real server on port 0 answers grpc.health.v1 with no token.
import { createClient } from "nice-grpc";
import { HealthDefinition } from "nice-grpc-server-health";
import { HealthCheckResponse_ServingStatus } from "nice-grpc-server-health/lib/proto/grpc/health/v1/health";
import { PRODUCT_SERVICE_NAME, setServing } from "../../src/server";
import { TEST_BACKENDS, type TestDatabase } from "../support/database";
import { startTestServer, type TestServer } from "../support/server";

const backend = TEST_BACKENDS[0]!;
let database: TestDatabase;
let server: TestServer;

beforeAll(async () => {
  database = await backend.open();
  server = await startTestServer(database);
});
afterAll(async () => {
  await server.close();
  await database.close();
});

test("Check answers NOT_SERVING until the server is marked serving, then SERVING for the server and ProductService", async () => {
  const client = createClient(HealthDefinition, server.channel);
  setServing(server.app.health, false);
  expect((await client.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.NOT_SERVING);
  setServing(server.app.health, true);
  expect((await client.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
  expect((await client.check({ service: PRODUCT_SERVICE_NAME })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
});
