// Keepalive as grpc-go keeps it: a connection that has sent nothing for a
// while is pinged, and closed only when the ping goes unanswered past the
// timeout. A healthy client that answers slowly stays; one that never
// answers is let go. (Short limits here; the defaults are 5 min and 20 s.)
import net from "node:net";
import { createCallTracker, NO_OBSERVER } from "../../src/transport/call-tracker";
import { CONNECTION_LIMITS } from "../../src/transport/http2-sessions";
import { createTransportServer, type TransportServer } from "../../src/transport/transport-server";
import { http2Frame } from "../support/raw-grpc";
import { until } from "../support/wait";

const LIMITS = { ...CONNECTION_LIMITS, keepaliveMs: 200, keepaliveTimeoutMs: 1_200 };
const SETTINGS = 0x4;
const PING = 0x6;
const GOAWAY = 0x7;
const ACK = 0x1;

/**
 * An HTTP/2 client that answers SETTINGS at once and each of the server's
 * PINGs after `pingDelayMs` (never, when undefined), and notes the ACKs and
 * GOAWAY it receives.
 */
async function rawClient(port: number, pingDelayMs: number | undefined) {
  const socket = net.connect(port, "127.0.0.1");
  socket.on("error", () => undefined);
  let pings = 0;
  let pingAcks = 0;
  let goaway: { code: number; debug: string } | undefined;
  let buffered = Buffer.alloc(0);
  socket.on("data", (chunk: Buffer) => {
    buffered = Buffer.concat([buffered, chunk]);
    while (buffered.length >= 9 && buffered.length >= 9 + buffered.readUIntBE(0, 3)) {
      const length = buffered.readUIntBE(0, 3);
      const [type, flags] = [buffered[3], buffered[4]];
      const payload = buffered.subarray(9, 9 + length);
      buffered = buffered.subarray(9 + length);
      if (type === SETTINGS && flags === 0) socket.write(http2Frame(SETTINGS, ACK, 0, Buffer.alloc(0)));
      if (type === PING && flags === ACK) pingAcks += 1;
      // The first GOAWAY says why (one that closes the connection may follow it).
      if (type === GOAWAY) goaway ??= { code: payload.readUInt32BE(4), debug: payload.subarray(8).toString() };
      if (type === PING && flags === 0) {
        pings += 1;
        // A client that is slow to answer, on purpose: the timeout under test is the server's.
        if (pingDelayMs !== undefined) setTimeout(() => socket.write(http2Frame(PING, ACK, 0, payload)), pingDelayMs);
      }
    }
  });
  await new Promise((resolve) => socket.once("connect", resolve));
  socket.write(
    Buffer.concat([Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"), http2Frame(SETTINGS, 0, 0, Buffer.alloc(0))]),
  );
  return { socket, pings: () => pings, pingAcks: () => pingAcks, goaway: () => goaway };
}

describe("keepalive", () => {
  let server: TransportServer;
  let port: number;
  beforeAll(async () => {
    server = createTransportServer({
      deadlines: { defaultMs: 1_000, maxMs: 1_000, longLived: new Set() },
      calls: createCallTracker(),
      observer: NO_OBSERVER,
      onUnexpectedError: () => undefined,
      limits: LIMITS,
    });
    port = await server.listen("127.0.0.1", 0);
  });
  afterAll(() => server.destroy());

  test("a client that answers each ping within the timeout, however slowly, is kept", async () => {
    const client = await rawClient(port, 800);
    try {
      await until(() => client.pings() >= 3, 10_000);
      expect(client.socket.destroyed).toBe(false);
    } finally {
      client.socket.destroy();
    }
  });

  test("a client that never answers is closed once the timeout passes", async () => {
    const client = await rawClient(port, undefined);
    await until(() => client.pings() >= 1, 5_000);
    const pinged = Date.now();
    await until(() => client.socket.destroyed, 5_000);
    expect(Date.now() - pinged).toBeGreaterThanOrEqual(LIMITS.keepaliveTimeoutMs - 100);
  });
});

describe("keepalive enforcement", () => {
  let server: TransportServer;
  let port: number;
  beforeAll(async () => {
    server = createTransportServer({
      deadlines: { defaultMs: 1_000, maxMs: 1_000, longLived: new Set() },
      calls: createCallTracker(),
      observer: NO_OBSERVER,
      onUnexpectedError: () => undefined,
      limits: { ...CONNECTION_LIMITS, minClientPingIntervalMs: 60_000, minIdleClientPingIntervalMs: 60_000 },
    });
    port = await server.listen("127.0.0.1", 0);
  });
  afterAll(() => server.destroy());

  test("a client that pings more often than it may is sent GOAWAY ENHANCE_YOUR_CALM too_many_pings", async () => {
    const client = await rawClient(port, undefined);
    try {
      for (let i = 0; i < 4; i += 1) client.socket.write(http2Frame(PING, 0, 0, Buffer.alloc(8, i)));
      await until(() => client.goaway() !== undefined, 5_000);
      expect(client.goaway()).toEqual({ code: 11, debug: "too_many_pings" });
    } finally {
      client.socket.destroy();
    }
  });

  test("three pings within the limit's strikes keep the connection", async () => {
    const client = await rawClient(port, undefined);
    try {
      for (let i = 0; i < 3; i += 1) client.socket.write(http2Frame(PING, 0, 0, Buffer.alloc(8, i)));
      await until(() => client.pingAcks() === 3, 5_000);
      expect(client.goaway()).toBeUndefined();
    } finally {
      client.socket.destroy();
    }
  });
});
