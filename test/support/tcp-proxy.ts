// A TCP proxy the test owns, between the server and PostgreSQL: cutting it
// makes the database unreachable for the server without touching the shared
// PostgreSQL instance; restoring it brings the database back.
//
// A half-close is passed on as such: a cancel request is sent and then the
// client's side is shut, and PostgreSQL closes the connection only once it
// has signalled the backend. A proxy that closed the client at once (Node's
// default for a server socket) would tell the client its cancel had landed
// before PostgreSQL had even read it.
import net from "node:net";

export interface TcpProxy {
  readonly port: number;
  /** Client connections accepted since the start. */
  readonly accepted: number;
  /** Client connections open now (whatever they are for: pool, LISTEN, cancel requests). */
  readonly open: number;
  /** Drops every connection and refuses new ones. */
  cut(): void;
  /** Accepts connections again. */
  restore(): void;
  /**
   * A black hole: nothing is forwarded either way from now on, and sockets
   * stay open; new connections are accepted and hear nothing. What was sent
   * meanwhile is held, as TCP would retransmit it, and delivered on heal().
   */
  blackHole(): void;
  /** Forwards again, held bytes first (connections accepted meanwhile reach the target now). */
  heal(): void;
  /** Connections opened from now on reach the target only after `ms` (0: at once again). */
  delayNewConnections(ms: number): void;
  /** Everything the target sends arrives `ms` late from now on (0: at once again). */
  setLatency(ms: number): void;
  close(): Promise<void>;
}

interface Held {
  readonly chunk: Buffer;
  readonly at: number;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const clients = new Set<net.Socket>();
  /** Flushes what each connection held, once the black hole heals. */
  const onHeal = new Set<() => void>();
  let cut = false;
  let holeOpen = false;
  let connectDelayMs = 0;
  let latencyMs = 0;
  let accepted = 0;

  /** Writes `from`'s bytes to `to` in order, holding them while the black hole lasts (and, replies, by the latency). */
  function forward(from: net.Socket, to: net.Socket, delayed: boolean): void {
    const held: Held[] = [];
    let timer: NodeJS.Timeout | undefined;
    let ended = false;
    const release = () => {
      timer = undefined;
      if (holeOpen) return;
      while (held.length > 0 && (held[0] as Held).at <= Date.now()) {
        const { chunk } = held.shift() as Held;
        if (!to.destroyed) to.write(chunk);
      }
      if (held.length > 0) timer = setTimeout(release, (held[0] as Held).at - Date.now());
      else if (ended && !to.destroyed) to.end();
    };
    onHeal.add(release);
    from.on("data", (chunk: Buffer) => {
      const delay = delayed ? latencyMs : 0;
      if (!holeOpen && delay === 0 && held.length === 0) {
        to.write(chunk);
        return;
      }
      held.push({ chunk, at: Date.now() + delay });
      if (timer === undefined && !holeOpen) release();
    });
    from.on("end", () => {
      ended = true;
      if (timer === undefined && !holeOpen) release();
    });
    from.on("close", () => {
      clearTimeout(timer);
      onHeal.delete(release);
    });
  }

  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    if (cut) {
      client.destroy();
      return;
    }
    accepted += 1;
    client.pause();
    sockets.add(client);
    clients.add(client);
    client.on("close", () => {
      sockets.delete(client);
      clients.delete(client);
    });
    client.on("error", () => client.destroy());
    const connect = () => {
      onHeal.delete(connect);
      if (client.destroyed) return;
      if (holeOpen) {
        onHeal.add(connect);
        return;
      }
      const upstream = net.connect({ port: target.port, host: target.host, allowHalfOpen: true });
      sockets.add(upstream);
      upstream.on("close", () => sockets.delete(upstream));
      upstream.on("error", () => upstream.destroy());
      forward(client, upstream, false);
      forward(upstream, client, true);
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
    get accepted() {
      return accepted;
    },
    get open() {
      return clients.size;
    },
    cut() {
      cut = true;
      for (const socket of sockets) socket.destroy();
    },
    restore() {
      cut = false;
    },
    blackHole() {
      holeOpen = true;
    },
    heal() {
      holeOpen = false;
      for (const flush of [...onHeal]) flush();
    },
    delayNewConnections(ms) {
      connectDelayMs = ms;
    },
    setLatency(ms) {
      latencyMs = ms;
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
