// A real server on a real port (127.0.0.1:0) over a real database, with a
// real nice-grpc client, and the log lines it wrote, for integration tests.
import { ServerCredentials } from "@grpc/grpc-js";
import { createChannel, createClient, type Channel } from "nice-grpc";
import { ProductServiceDefinition, type ProductServiceClient } from "../../gen/product/v1/product";
import { createLogger } from "../../src/logger";
import { createServer, setServing, type ProductServer, type ServerDeps } from "../../src/server";
import type { TestDatabase } from "./database";

export interface TestServer {
  readonly address: string;
  readonly port: number;
  readonly app: ProductServer;
  readonly client: ProductServiceClient;
  readonly channel: Channel;
  /** Every log line the server wrote, parsed. */
  readonly logs: Record<string, unknown>[];
  close(): Promise<void>;
}

export const TEST_LIMITS = { batchMaxItems: 1_000, watchMaxIds: 50 } as const;
export const TEST_DEADLINES = { defaultMs: 10_000, maxMs: 60_000 } as const;

export async function startTestServer(database: TestDatabase, overrides: Partial<ServerDeps> = {}): Promise<TestServer> {
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger("info", { write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>) });
  const app = await createServer({ database: database.handle, logger, limits: TEST_LIMITS, deadlines: TEST_DEADLINES, reflection: true, ...overrides });
  const port = await app.server.listen("127.0.0.1:0", ServerCredentials.createInsecure());
  setServing(app.health, true);
  const address = `127.0.0.1:${port}`;
  const channel = createChannel(address);
  const client = createClient(ProductServiceDefinition, channel);
  return {
    address,
    port,
    app,
    client,
    channel,
    logs,
    async close() {
      channel.close();
      app.server.forceShutdown();
      await app.close();
    },
  };
}
