// A real server on port 0 answers grpc.health.v1 with no token.
import { ServerCredentials } from "@grpc/grpc-js";
import { createChannel, createClient, type Channel } from "nice-grpc";
import { HealthDefinition } from "nice-grpc-server-health";
import { HealthCheckResponse_ServingStatus } from "nice-grpc-server-health/lib/proto/grpc/health/v1/health";
import { createServer, setServing, PRODUCT_SERVICE_NAME } from "../../src/server";

test("Check answers NOT_SERVING until the server is marked serving, then SERVING for the server and ProductService", async () => {
  const { server, health } = createServer({ reflection: false });
  const port = await server.listen("127.0.0.1:0", ServerCredentials.createInsecure());
  const channel: Channel = createChannel(`127.0.0.1:${port}`);
  try {
    const client = createClient(HealthDefinition, channel);
    expect((await client.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.NOT_SERVING);
    setServing(health, true);
    expect((await client.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    expect((await client.check({ service: PRODUCT_SERVICE_NAME })).status).toBe(HealthCheckResponse_ServingStatus.SERVING);
    setServing(health, false);
    expect((await client.check({ service: "" })).status).toBe(HealthCheckResponse_ServingStatus.NOT_SERVING);
  } finally {
    channel.close();
    await server.shutdown();
  }
});
