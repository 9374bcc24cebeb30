// A TCP proxy the test owns, between the server and PostgreSQL (or a client
// and the server): cutting it makes the database unreachable for the server
// without touching the shared PostgreSQL instance; restoring it brings the
// database back. Replies can be slowed or held back.
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
  /** Of those, the ones that carry a cancel request (PostgreSQL's CancelRequest, code 80877102). */
  readonly openCancels: number;
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
  /** Everything the target sends from now on is held back, in order, until releaseReplies(). */
  holdReplies(): void;
  /** Sends on what was held back, and stops holding. */
  releaseReplies(): void;
  close(): Promise<void>;
}

const CANCEL_REQUEST_CODE = 80877102;

interface Held {
  readonly chunk: Buffer;
  at: number;
}

export async function startTcpProxy(target: { host: string; port: number }): Promise<TcpProxy> {
  const sockets = new Set<net.Socket>();
  const clients = new Set<net.Socket>();
  const cancels = new Set<net.Socket>();
  /** What to do once the black hole heals: flush held bytes, make held connections. */
  const onHeal = new Set<() => void>();
  let cut = false;
  let holeOpen = false;
  let connectDelayMs = 0;
  let latencyMs = 0;
  let holdingReplies = false;
  /** The replies' directions, to release what they hold. */
  const replies = new Set<() => void>();
  let accepted = 0;

  /**
   * One direction of a connection: bytes go to `to()` in order, held while
   * there is no `to` yet, while the black hole lasts, and (replies) by the
   * latency in force when they came; an end follows the last of them.
   */
  function direction(to: () => net.Socket | undefined, delayed: boolean) {
    const held: Held[] = [];
    let timer: NodeJS.Timeout | undefined;
    let ended = false;
    // Replies held back until releaseReplies() are due at Infinity.
    const release = () => {
      timer = undefined;
      const socket = to();
      if (holeOpen || socket === undefined) return;
      while (held.length > 0 && (held[0] as Held).at <= Date.now()) {
        const { chunk } = held.shift() as Held;
        if (!socket.destroyed) socket.write(chunk);
      }
      const next = held[0]?.at;
      // Not a wait: the latency this proxy injects (setLatency).
      if (next !== undefined && next !== Number.POSITIVE_INFINITY) timer = setTimeout(release, next - Date.now());
      else if (next === undefined && ended && !socket.destroyed) socket.end();
    };
    const releaseHeld = () => {
      for (const item of held) if (item.at === Number.POSITIVE_INFINITY) item.at = Date.now();
      if (timer === undefined) release();
    };
    onHeal.add(release);
    if (delayed) replies.add(releaseHeld);
    return {
      release,
      push(chunk: Buffer) {
        const socket = to();
        const holding = delayed && (holdingReplies || latencyMs > 0);
        if (!holeOpen && socket !== undefined && !holding && held.length === 0) {
          socket.write(chunk);
          return;
        }
        const at = delayed && holdingReplies ? Number.POSITIVE_INFINITY : Date.now() + (delayed ? latencyMs : 0);
        held.push({ chunk, at });
        if (timer === undefined) release();
      },
      end() {
        ended = true;
        if (timer === undefined) release();
      },
      stop() {
        clearTimeout(timer);
        onHeal.delete(release);
        replies.delete(releaseHeld);
      },
    };
  }

  const server = net.createServer({ allowHalfOpen: true }, (client) => {
    if (cut) {
      client.destroy();
      return;
    }
    accepted += 1;
    sockets.add(client);
    clients.add(client);
    let upstream: net.Socket | undefined;
    const outbound = direction(() => upstream, false);
    client.once("data", (chunk: Buffer) => {
      if (chunk.length >= 8 && chunk.readInt32BE(0) === 16 && chunk.readInt32BE(4) === CANCEL_REQUEST_CODE)
        cancels.add(client);
    });
    client.on("data", (chunk: Buffer) => outbound.push(chunk));
    client.on("end", () => outbound.end());
    client.on("error", () => client.destroy());
    const connect = () => {
      onHeal.delete(connect);
      if (client.destroyed || upstream !== undefined) return;
      if (holeOpen) {
        onHeal.add(connect);
        return;
      }
      const socket = net.connect({ port: target.port, host: target.host, allowHalfOpen: true });
      upstream = socket;
      sockets.add(socket);
      const inbound = direction(() => client, true);
      socket.on("data", (chunk: Buffer) => inbound.push(chunk));
      socket.on("end", () => inbound.end());
      socket.on("error", () => socket.destroy());
      socket.on("close", () => {
        sockets.delete(socket);
        inbound.stop();
        client.destroy();
      });
      outbound.release();
    };
    client.on("close", () => {
      sockets.delete(client);
      clients.delete(client);
      cancels.delete(client);
      onHeal.delete(connect);
      outbound.stop();
      upstream?.destroy();
    });
    if (connectDelayMs > 0)
      setTimeout(connect, connectDelayMs); // not a wait: the injected delay (delayNewConnections)
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
    get openCancels() {
      return cancels.size;
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
    holdReplies() {
      holdingReplies = true;
    },
    releaseReplies() {
      holdingReplies = false;
      for (const releaseHeld of [...replies]) releaseHeld();
    },
    close: () =>
      new Promise<void>((resolve) => {
        for (const socket of sockets) socket.destroy();
        server.close(() => resolve());
      }),
  };
}
