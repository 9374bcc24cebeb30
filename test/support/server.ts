// A real server on a real port (127.0.0.1:0) over a real database, with a
// real nice-grpc client, and the log lines it wrote, for integration tests.
import { createChannel, createClient, Metadata, type Channel } from "nice-grpc";
import { ProductServiceDefinition, type ProductServiceClient } from "../../gen/product/v1/product";
import { signToken } from "../../src/auth/development-secret";
import { SCOPES } from "../../src/auth/scopes";
import { createTokenVerifier } from "../../src/auth/token-verifier";
import type { AuthConfig } from "../../src/config";
import { createLogger } from "../../src/observability/logger";
import { createServer, type ProductServer, type ServerDeps } from "../../src/server";
import type { TlsSettings } from "../../src/transport/connection-listener";
import type { TestBackend, TestDatabase, TestOpenOptions } from "./database";

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
export const TEST_SECRET = "a-test-secret-that-is-at-least-32-bytes-long";
export const TEST_AUTH: AuthConfig = {
  key: { kind: "secret", secret: TEST_SECRET },
  issuer: "test-issuer",
  audience: "test-audience",
};

/** A token the test servers accept, with these scopes (default: read and write). */
export function testToken(
  scopes: readonly string[] = [SCOPES.read, SCOPES.write],
  options: { expiresIn?: string } = {},
): Promise<string> {
  return signToken(TEST_SECRET, TEST_AUTH, scopes, options);
}

export async function startTestServer(
  database: TestDatabase,
  overrides: Partial<ServerDeps> = {},
  tls: TlsSettings | undefined = undefined,
  listenOn = "127.0.0.1:0",
): Promise<TestServer> {
  const logs: Record<string, unknown>[] = [];
  const logger = createLogger("info", {
    write: (line: string) => void logs.push(JSON.parse(line) as Record<string, unknown>),
  });
  const app = await createServer({
    database: database.handle,
    logger,
    limits: TEST_LIMITS,
    deadlines: TEST_DEADLINES,
    reflection: true,
    verifier: createTokenVerifier(TEST_AUTH),
    ...overrides,
  });
  const [host, listenPort] = listenOn.split(":") as [string, string];
  const port = await app.listen(host, Number(listenPort), tls);
  app.serve();
  const address = `127.0.0.1:${port}`;
  const channel = createChannel(address);
  // The test's own client has every scope; auth tests make their own.
  const client = createClient(ProductServiceDefinition, channel, {
    "*": { metadata: Metadata({ authorization: `Bearer ${await testToken()}` }) },
  });
  return {
    address,
    port,
    app,
    client,
    channel,
    logs,
    async close() {
      channel.close();
      await app.close();
    },
  };
}

/**
 * A fresh database on `backend`, served for the tests of the enclosing
 * describe block, both closed after them. Read `suite.server` and
 * `suite.database` inside tests (they are set in beforeAll).
 */
export function serveForSuite(
  backend: TestBackend,
  overrides: Partial<ServerDeps> = {},
  databaseOptions: TestOpenOptions = {},
): { readonly server: TestServer; readonly database: TestDatabase } {
  const suite = {} as { server: TestServer; database: TestDatabase };
  beforeAll(async () => {
    suite.database = await backend.open(databaseOptions);
    suite.server = await startTestServer(suite.database, overrides);
  });
  afterAll(async () => {
    await suite.server?.close();
    await suite.database?.close();
  });
  return suite;
}
