// TLS and mTLS with certificates the test makes, and the refusal to serve
// plaintext on an address other machines can reach.
import { ChannelCredentials } from "@grpc/grpc-js";
import path from "node:path";
import { createChannel, createClient, type Channel } from "nice-grpc";
import { Status } from "nice-grpc-common";
import { HealthDefinition } from "nice-grpc-server-health";
import { makeCertificates, type TestCertificates } from "../support/certificates";
import { PROJECT_ROOT, runCommand } from "../support/commands";
import { TEST_BACKENDS, type TestDatabase } from "../support/database";
import { rpcError } from "../support/products";
import { startTestServer, type TestServer } from "../support/server";

let certs: TestCertificates;
let database: TestDatabase;
beforeAll(async () => {
  certs = makeCertificates();
  database = await TEST_BACKENDS[0]!.open();
});
afterAll(() => database.close());

async function check(channel: Channel) {
  try {
    return (
      await createClient(HealthDefinition, channel).check({ service: "" }, { signal: AbortSignal.timeout(3_000) })
    ).status;
  } finally {
    channel.close();
  }
}

const tlsChannel = (port: number, clientCert?: { cert: string; key: string }) =>
  createChannel(
    `localhost:${port}`,
    ChannelCredentials.createSsl(
      Buffer.from(certs.caCert),
      clientCert && Buffer.from(clientCert.key),
      clientCert && Buffer.from(clientCert.cert),
    ),
  );

describe("TLS", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(database, {}, { cert: certs.serverCert, key: certs.serverKey });
  });
  afterAll(() => server.close());

  test("a TLS client that trusts the CA is served", async () => {
    expect(await check(tlsChannel(server.port))).toBe(1);
  });

  test("a plaintext client fails", async () => {
    const error = await rpcError(check(createChannel(`127.0.0.1:${server.port}`)));
    expect(Status[error.code]).toBe("UNAVAILABLE");
  });
});

describe("mTLS", () => {
  let server: TestServer;
  beforeAll(async () => {
    server = await startTestServer(
      database,
      {},
      { cert: certs.serverCert, key: certs.serverKey, clientCa: certs.caCert },
    );
  });
  afterAll(() => server.close());

  test("a client certificate the CA signed is accepted", async () => {
    expect(await check(tlsChannel(server.port, { cert: certs.clientCert, key: certs.clientKey }))).toBe(1);
  });

  test("a client without a certificate is refused", async () => {
    expect(Status[(await rpcError(check(tlsChannel(server.port)))).code]).toBe("UNAVAILABLE");
  });

  test("a client certificate from another CA is refused", async () => {
    expect(
      Status[
        (await rpcError(check(tlsChannel(server.port, { cert: certs.strangerCert, key: certs.strangerKey })))).code
      ],
    ).toBe("UNAVAILABLE");
  });
});

describe("start-up", () => {
  const main = path.join(PROJECT_ROOT, "src/main.ts");
  const runTs = path.join(PROJECT_ROOT, "test/support/processes/run-ts.cjs");
  const start = (env: Record<string, string>) =>
    runCommand(
      "env",
      [
        ...Object.entries({ DATA_DIR: certs.dir, PORT: "0", ...env }).map(([k, v]) => `${k}=${v}`),
        process.execPath,
        runTs,
        main,
      ],
      PROJECT_ROOT,
    );

  test("refuses plaintext on a non-loopback address without ALLOW_INSECURE, saying what to set", async () => {
    const result = await start({ HOST: "0.0.0.0" });
    expect(result.code).toBe(1);
    expect(result.output).toContain("HOST=0.0.0.0 is not a loopback address");
    expect(result.output).toContain("TLS_CERT_FILE");
    expect(result.output).toContain("ALLOW_INSECURE=true");
  });

  test("names every bad variable in one message", async () => {
    const result = await start({
      HOST: "0.0.0.0",
      PORT: "x",
      TLS_CERT_FILE: certs.file("missing.crt"),
      JWT_SECRET: "short",
    });
    expect(result.code).toBe(1);
    for (const name of ["PORT", "TLS_CERT_FILE", "JWT_SECRET"]) expect(result.output).toContain(name);
  });
});
