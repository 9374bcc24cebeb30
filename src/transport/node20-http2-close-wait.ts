// Workaround for a defect of Node 20's HTTP/2: after nghttp2 ends a session on
// its own (a header block it refuses, such as a 100 kB token), Node 20 sends
// GOAWAY, stops reading the socket and emits nothing; it never sees the peer
// close, and the socket stays in CLOSE-WAIT for good: enough such clients
// and the server runs out of file descriptors. Node 22 and 24 emit the
// session's error and close the socket. test/transport/node-http2-close-wait.test.ts
// shows the defect on the Node it runs on; this file can go when Node 20 is
// no longer supported.
//
// On Node 20 each connection reaches HTTP/2 through this Duplex, which keeps
// reading the socket (up to READ_AHEAD_BYTES beyond what HTTP/2 has taken),
// so the peer's FIN is seen whatever state the session is in, and a socket
// whose peer has closed is destroyed a second later unless HTTP/2 closed it.
import { Duplex } from "node:stream";
import type { Socket } from "node:net";

export const HTTP2_LEAVES_CLOSE_WAIT = Number(process.versions.node.split(".")[0]) < 22;

const READ_AHEAD_BYTES = 1024 * 1024;
const RELEASE_AFTER_PEER_CLOSED_MS = 1_000;

export class PeerCloseWatcher extends Duplex {
  constructor(private readonly socket: Socket) {
    super({ readableHighWaterMark: READ_AHEAD_BYTES, allowHalfOpen: true });
    socket.on("data", (chunk: Buffer) => {
      if (!this.push(chunk)) socket.pause();
    });
    socket.once("end", () => {
      this.push(null);
      const timer = setTimeout(() => this.destroy(), RELEASE_AFTER_PEER_CLOSED_MS);
      timer.unref();
      this.once("close", () => clearTimeout(timer));
    });
    socket.once("error", (error) => this.destroy(error));
    socket.once("close", () => this.destroy());
  }

  // What HTTP/2 and the log line read of the connection.
  get remoteAddress(): string | undefined {
    return this.socket.remoteAddress;
  }
  get remotePort(): number | undefined {
    return this.socket.remotePort;
  }
  get remoteFamily(): string | undefined {
    return this.socket.remoteFamily;
  }
  get localAddress(): string | undefined {
    return this.socket.localAddress;
  }
  get localPort(): number | undefined {
    return this.socket.localPort;
  }
  get bytesRead(): number {
    return this.socket.bytesRead;
  }
  get encrypted(): boolean {
    return (this.socket as { encrypted?: boolean }).encrypted === true;
  }
  get alpnProtocol(): string | false | undefined {
    return (this.socket as { alpnProtocol?: string | false }).alpnProtocol;
  }

  setNoDelay(noDelay?: boolean): this {
    this.socket.setNoDelay(noDelay);
    return this;
  }

  setKeepAlive(enable?: boolean, initialDelay?: number): this {
    this.socket.setKeepAlive(enable, initialDelay);
    return this;
  }

  setTimeout(ms: number, callback?: () => void): this {
    this.socket.setTimeout(ms, callback);
    return this;
  }

  override _read(): void {
    this.socket.resume();
  }

  override _write(chunk: Buffer, _encoding: BufferEncoding, callback: (error?: Error | null) => void): void {
    this.socket.write(chunk, callback);
  }

  override _final(callback: (error?: Error | null) => void): void {
    this.socket.end(callback);
  }

  override _destroy(error: Error | null, callback: (error?: Error | null) => void): void {
    this.socket.destroy(error ?? undefined);
    callback(error);
  }
}
