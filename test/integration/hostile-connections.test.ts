// Connections a hostile or broken client leaves behind are released: one
// that sent a header block HTTP/2 refuses (100 kB) and then closed, one used
// for an HTTP/2 rapid reset and then closed. Counted by the server process's
// open file descriptors (/proc/<pid>/fd) and the kernel's CLOSE-WAIT sockets,
// and proven under a low `ulimit -n`. Oversized metadata that HTTP/2 does
// accept is answered with a status.
import { readdirSync } from "node:fs";
import { mkdtemp, rm } from "node:fs/promises";
import http2 from "node:http2";
import { tmpdir } from "node:os";
import path from "node:path";
import { createChannel, createClient } from "nice-grpc";
import { Status } from "nice-grpc-common";
import { HealthDefinition } from "nice-grpc-server-health";
import { ServingStatus } from "../support/health";
import { GetProductRequest } from "../../gen/product/v1/product";
import { UNKNOWN_ID } from "../support/products";
import { startServerProcess, type ServerProcess } from "../support/processes/server-process";
import { rawCall, rawHeadersConnection, rawSession } from "../support/raw-grpc";
import { testToken, TEST_AUTH, TEST_SECRET } from "../support/server";
import { closeWaitSockets } from "../support/tcp-states";
import { until } from "../support/wait";

const GET = "/product.v1.ProductService/GetProduct";

async function oversizedHeaderThenClose(port: number): Promise<void> {
  const socket = await rawHeadersConnection(port, GET, { authorization: `Bearer ${"a".repeat(100_000)}` });
  socket.end(); // FIN, as a client closing politely does
}

async function rapidResetThenClose(port: number): Promise<void> {
  const session = http2.connect(`http://127.0.0.1:${port}`);
  session.on("error", () => undefined);
  const closed: Promise<unknown>[] = [];
  for (let i = 0; i < 200; i += 1) {
    const stream = session.request({
      ":method": "POST",
      ":path": GET,
      "content-type": "application/grpc",
      te: "trailers",
    });
    stream.on("error", () => undefined);
    closed.push(new Promise((resolve) => stream.once("close", resolve)));
    stream.close(http2.constants.NGHTTP2_CANCEL);
  }
  await Promise.all(closed); // every HEADERS and RST_STREAM has been handed to the socket
  session.close();
}

async function healthy(address: string): Promise<boolean> {
  const channel = createChannel(address);
  try {
    return (
      (await createClient(HealthDefinition, channel).check({ service: "" }, { signal: AbortSignal.timeout(3_000) }))
        .status === ServingStatus.SERVING
    );
  } finally {
    channel.close();
  }
}

describe("hostile connections", () => {
  let dataDir: string;
  let server: ServerProcess | undefined;
  const env = () => ({
    DATA_DIR: dataDir,
    JWT_SECRET: TEST_SECRET,
    JWT_ISSUER: TEST_AUTH.issuer,
    JWT_AUDIENCE: TEST_AUTH.audience,
  });
  const openFiles = () => readdirSync(`/proc/${server!.child.pid}/fd`).length;

  beforeEach(async () => {
    dataDir = await mkdtemp(path.join(tmpdir(), "product-hostile-"));
  });
  afterEach(async () => {
    server?.child.kill("SIGTERM");
    await server?.exited;
    server = undefined;
    await rm(dataDir, { recursive: true, force: true });
  });

  test("connections closed after an oversized header or a rapid reset are released; a normal client is served throughout", async () => {
    server = await startServerProcess(env());
    const address = `127.0.0.1:${server.port}`;
    expect(await healthy(address)).toBe(true);
    const baseline = openFiles();
    for (let i = 0; i < 30; i += 1) {
      await oversizedHeaderThenClose(server.port);
      await rapidResetThenClose(server.port);
      if (i % 10 === 0) expect(await healthy(address)).toBe(true);
    }
    await until(() => openFiles() <= baseline + 2, 8_000).catch(() => undefined);
    expect(openFiles()).toBeLessThanOrEqual(baseline + 2);
    expect(await healthy(address)).toBe(true);
  });

  test("50 clients that send a 100 kB header and close leave no socket in CLOSE-WAIT 2 s later", async () => {
    server = await startServerProcess(env());
    const address = `127.0.0.1:${server.port}`;
    const sockets = await Promise.all(
      Array.from({ length: 50 }, () =>
        rawHeadersConnection(server!.port, GET, { authorization: `Bearer ${"a".repeat(100_000)}` }),
      ),
    );
    for (const socket of sockets) socket.end();
    // A client's socket closes once the server has closed its side: each within 2 s, or this throws.
    await until(() => sockets.every((socket) => socket.destroyed), 2_000);
    expect(closeWaitSockets(server.port)).toBe(0);
    expect(await healthy(address)).toBe(true);
  });

  test("under `ulimit -n 200`, 230 such connections leave the server able to accept new clients", async () => {
    server = await startServerProcess(env(), { fileLimit: 200 });
    const address = `127.0.0.1:${server.port}`;
    for (let i = 0; i < 230; i += 1) {
      if (i % 2 === 0) await oversizedHeaderThenClose(server.port);
      else await rapidResetThenClose(server.port);
    }
    expect(await healthy(address)).toBe(true);
  });

  test("metadata over 16 KiB that HTTP/2 accepts is answered RESOURCE_EXHAUSTED; the limits are advertised", async () => {
    server = await startServerProcess(env());
    const session = rawSession(`127.0.0.1:${server.port}`);
    try {
      const request = GetProductRequest.encode({ id: UNKNOWN_ID }).finish();
      const token = await testToken();
      const big = await rawCall(session, GET, [request], {
        authorization: `Bearer ${token}`,
        "x-padding": "p".repeat(20_000),
      }).response;
      expect(big).toMatchObject({ status: Status.RESOURCE_EXHAUSTED, message: "request headers exceed 16 KiB" });
      // The connection is still good for a call of ordinary size.
      expect((await rawCall(session, GET, [request], { authorization: `Bearer ${token}` }).response).status).toBe(
        Status.NOT_FOUND,
      );
      expect(session.remoteSettings.maxConcurrentStreams).toBe(1_000);
    } finally {
      session.close();
    }
  });
});
