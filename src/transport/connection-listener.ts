// The server's listening sockets: it accepts its own TCP (and TLS)
// connections, counts them, and hands each to HTTP/2 or HTTP/1.1 by what the
// client speaks: ALPN's choice on TLS, else the first bytes (HTTP/2 starts
// with its connection preface). So gRPC, and the web protocols browsers
// speak over HTTP/1.1, share one port.
import net, { type Socket } from "node:net";
import type { Duplex } from "node:stream";
import tls, { type TLSSocket } from "node:tls";
import { HTTP2_LEAVES_CLOSE_WAIT, PeerCloseWatcher } from "./node20-http2-close-wait";

export interface TlsSettings {
  /** PEM certificate chain and key. */
  readonly cert: string;
  readonly key: string;
  /** When set, clients must present a certificate this CA signed (mTLS). */
  readonly clientCa?: string | undefined;
}

export interface ConnectionRoutes {
  /** `socket` is the connection as accepted, for its address; `connection` what HTTP/2 reads and writes. */
  http2(connection: Duplex, socket: Socket): void;
  http1(socket: Socket): void;
}

export interface ConnectionListener {
  readonly port: number;
  /** Connections open now. */
  readonly connections: number;
  /** Stops accepting connections; those open stay open. */
  stopAccepting(): Promise<void>;
  /** Drops every connection at once. */
  destroyAll(): void;
}

const PREFACE = Buffer.from("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n");
/** A connection that says nothing (or finishes no TLS handshake) this long after it opened is dropped. */
const FIRST_BYTES_WITHIN_MS = 10_000;

export async function listenForConnections(
  host: string,
  port: number,
  tlsSettings: TlsSettings | undefined,
  routes: ConnectionRoutes,
): Promise<ConnectionListener> {
  const sockets = new Set<Socket>();
  const track = (socket: Socket): void => {
    sockets.add(socket);
    socket.once("close", () => sockets.delete(socket));
  };

  const hand = (socket: Socket, protocol: "h2" | "http/1.1"): void => {
    if (protocol === "http/1.1") return routes.http1(socket);
    routes.http2(HTTP2_LEAVES_CLOSE_WAIT ? new PeerCloseWatcher(socket) : socket, socket);
  };

  const server: net.Server =
    tlsSettings === undefined
      ? net.createServer({ noDelay: true }, (socket) => {
          track(socket);
          sniff(socket, (protocol) => hand(socket, protocol));
        })
      : tls.createServer(
          {
            cert: tlsSettings.cert,
            key: tlsSettings.key,
            ca: tlsSettings.clientCa,
            // Require and verify client certificates exactly when a client CA is given.
            requestCert: tlsSettings.clientCa !== undefined,
            rejectUnauthorized: tlsSettings.clientCa !== undefined,
            ALPNProtocols: ["h2", "http/1.1"],
            handshakeTimeout: FIRST_BYTES_WITHIN_MS,
            noDelay: true,
          },
          (socket: TLSSocket) => {
            if (socket.alpnProtocol === "h2" || socket.alpnProtocol === "http/1.1") hand(socket, socket.alpnProtocol);
            else sniff(socket, (protocol) => hand(socket, protocol));
          },
        );
  if (tlsSettings !== undefined) {
    // Count raw connections from the moment they are accepted, handshake included.
    server.on("connection", track);
    server.on("tlsClientError", (_error: Error, socket: TLSSocket) => socket.destroy());
  }

  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(port, host, () => {
      server.off("error", reject);
      resolve();
    });
  });
  const address = server.address() as net.AddressInfo;

  return {
    port: address.port,
    get connections() {
      return sockets.size;
    },
    stopAccepting: () => new Promise((resolve) => server.close(() => resolve())),
    destroyAll() {
      for (const socket of sockets) socket.destroy();
    },
  };
}

/** Reads the first bytes, puts them back, and says which protocol they begin. */
function sniff(socket: Socket, then: (protocol: "h2" | "http/1.1") => void): void {
  const timer = setTimeout(() => socket.destroy(), FIRST_BYTES_WITHIN_MS);
  timer.unref();
  socket.on("error", () => undefined);
  const onReadable = (): void => {
    const chunk = socket.read() as Buffer | null;
    if (chunk === null) return;
    socket.off("readable", onReadable);
    clearTimeout(timer);
    socket.unshift(chunk);
    const length = Math.min(chunk.length, PREFACE.length);
    then(chunk.subarray(0, length).equals(PREFACE.subarray(0, length)) ? "h2" : "http/1.1");
  };
  socket.on("readable", onReadable);
  socket.once("close", () => clearTimeout(timer));
}
