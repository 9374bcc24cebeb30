// A TCP proxy the test owns, between the server and PostgreSQL: cutting it
// makes the database unreachable for the server without touching the shared
// PostgreSQL instance; restoring it brings the database back.
import net from "node:net";

export interface TcpProxy {
  readonly port: number;
  /** Drops every connection and refuses new ones. */
  cut(): void;
  /** Accepts connections again. */
  restore(): void;
  /** Connections opened from now on reach the target only after `ms` (0: at once again). */
  delayNewConnections(ms: number): void;
  /** Everything the target sends arrives `ms` late from now on (0: at once again). */
  setLatency(ms: number): void;
  /** Everything the target sends from now on is held back, in order, until releaseReplies(). */
  holdReplies(): void;
  /** Sends on what was held back, and stops holding. */
  releaseReplies(): void;
  close(): Promise<void>;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  let cut = false;
  let connectDelayMs = 0;
  let latencyMs = 0;
  let holding = false;
  const releasers = new Set<() => void>();
  const server = net.createServer((client) => {
    if (cut) {
      client.destroy();
      return;
    }
    client.pause();
    sockets.add(client);
    client.on("close", () => sockets.delete(client));
    client.on("error", () => client.destroy());
    const connect = () => {
      if (client.destroyed) return;
      const upstream = net.connect(target.port, target.host);
      sockets.add(upstream);
      upstream.on("close", () => sockets.delete(upstream));
      upstream.on("error", () => upstream.destroy());
      client.pipe(upstream);
      // Replies are written in order, each held back by the latency in force when it came
      // (and never ahead of one that came before it: the bytes of one stream stay in order).
      const held: { chunk: Buffer; at: number }[] = [];
      let timer: NodeJS.Timeout | undefined;
      // A reply held back until releaseReplies() is due at Infinity.
      const release = () => {
        timer = undefined;
        while (held.length > 0 && (held[0] as { at: number }).at <= Date.now()) {
          const { chunk } = held.shift() as { chunk: Buffer };
          if (!client.destroyed) client.write(chunk);
        }
        const next = held[0]?.at;
        if (next !== undefined && next !== Number.POSITIVE_INFINITY) timer = setTimeout(release, next - Date.now());
      };
      const releaseHeld = () => {
        for (const item of held) if (item.at === Number.POSITIVE_INFINITY) item.at = Date.now();
        if (timer === undefined) release();
      };
      releasers.add(releaseHeld);
      upstream.on("data", (chunk: Buffer) => {
        if (!holding && latencyMs === 0 && held.length === 0) {
          client.write(chunk);
          return;
        }
        held.push({ chunk, at: holding ? Number.POSITIVE_INFINITY : Date.now() + latencyMs });
        if (timer === undefined) release();
      });
      upstream.on("close", () => {
        clearTimeout(timer);
        releasers.delete(releaseHeld);
      });
      client.resume();
      client.on("close", () => upstream.destroy());
      upstream.on("close", () => client.destroy());
    };
    if (connectDelayMs > 0) setTimeout(connect, connectDelayMs);
    else connect();
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  return {
    port: (server.address() as net.AddressInfo).port,
    cut() {
      cut = true;
      for (const socket of sockets) socket.destroy();
    },
    restore() {
      cut = false;
    },
    delayNewConnections(ms) {
      connectDelayMs = ms;
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    holdReplies() {
      holding = true;
    },
    releaseReplies() {
      holding = false;
      for (const releaseHeld of releasers) releaseHeld();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
