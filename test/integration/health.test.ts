// A real server on port 0 answers grpc.health.v1 with no token.
import { createChannel, createClient } from "nice-grpc";
import { HealthDefinition } from "nice-grpc-server-health";
import { ServingStatus } from "../support/health";
import { createTokenVerifier } from "../../src/auth/token-verifier";
import { createLogger } from "../../src/observability/logger";
import { createServer, PRODUCT_SERVICE_NAME } from "../../src/server";
import { TEST_BACKENDS } from "../support/database";
import { TEST_AUTH, TEST_DEADLINES, TEST_LIMITS } from "../support/server";

test("Check answers NOT_SERVING until the server is marked serving, then SERVING for the server and ProductService", async () => {
  const database = await TEST_BACKENDS[0]!.open();
  const app = await createServer({
    database: database.handle,
    logger: createLogger("silent"),
    limits: TEST_LIMITS,
    deadlines: TEST_DEADLINES,
    reflection: false,
    verifier: createTokenVerifier(TEST_AUTH),
  });
  const port = await app.listen("127.0.0.1", 0);
  const channel = createChannel(`127.0.0.1:${port}`);
  const client = createClient(HealthDefinition, channel);
  try {
    expect((await client.check({ service: "" })).status).toBe(ServingStatus.NOT_SERVING);
    expect((await client.check({ service: PRODUCT_SERVICE_NAME })).status).toBe(ServingStatus.NOT_SERVING);
    app.serve();
    expect((await client.check({ service: "" })).status).toBe(ServingStatus.SERVING);
    expect((await client.check({ service: PRODUCT_SERVICE_NAME })).status).toBe(ServingStatus.SERVING);
  } finally {
    channel.close();
    await app.close();
    await database.close();
  }
});
