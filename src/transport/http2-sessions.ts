// What one HTTP/2 connection may hold and how long it may live, kept by the
// server itself: a server that never lets go of a connection runs out of
// file descriptors to clients that are gone (a black-holed peer, a NAT that
// forgot it) or that keep idle connections for ever. The values follow
// grpc-go's keepalive and connection-age settings.
import { constants as http2Constants, type ServerHttp2Session, type ServerHttp2Stream } from "node:http2";

export const CONNECTION_LIMITS = {
  /** Streams (calls) open at once on one connection; a client queues the rest. */
  maxConcurrentStreams: 1_000,
  /** A connection with no call for this long gets GOAWAY and is closed. */
  maxIdleMs: 15 * 60_000,
  /** A connection that has sent nothing for this long is pinged ... */
  keepaliveMs: 5 * 60_000,
  /** ... and closed when the ping is not answered within this. */
  keepaliveTimeoutMs: 20_000,
  /** A connection older than this (±10%) gets GOAWAY, so clients spread over replicas that came later ... */
  maxAgeMs: 60 * 60_000,
  /** ... and its calls still open this much later are ended (a WatchPrices client re-subscribes). */
  maxAgeGraceMs: 5 * 60_000,
  /** A client may ping at most this often while it has calls open ... */
  minClientPingIntervalMs: 5 * 60_000,
  /** ... and this often while it has none; more than twice too often gets GOAWAY too_many_pings. */
  minIdleClientPingIntervalMs: 2 * 60 * 60_000,
} as const;

export type ConnectionLimits = { readonly [Key in keyof typeof CONNECTION_LIMITS]: number };

/** Pings too soon a client may send before it is sent away (grpc-go's maxPingStrikes). */
const MAX_PING_STRIKES = 2;

/** How often sessions are looked over for idleness, silence and age (more often under short limits). */
const SWEEP_MS = 1_000;

interface SessionState {
  readonly openedAt: number;
  readonly maxAgeMs: number;
  openStreams: number;
  /** When a stream last opened or closed. */
  lastCallAt: number;
  /** socket.bytesRead when last looked at, and when it last moved. */
  bytesRead: number;
  lastReadAt: number;
  pingSentAt: number | undefined;
  goingAway: boolean;
  /** When the client last pinged, and how many of its pings came too soon. */
  clientPingAt: number | undefined;
  pingStrikes: number;
}

export interface SessionManager {
  /** Keeps the limits on a new connection's session. */
  add(session: ServerHttp2Session): void;
  /** Connections open now. */
  readonly count: number;
  /** GOAWAY on every connection: calls in flight go on, new ones go elsewhere. */
  goAwayAll(): void;
  /**
   * Resets streams whose response has gone out in full while the client
   * keeps its request side open (RST_STREAM NO_ERROR, as gRPC servers do),
   * so a closing connection need not wait for them.
   */
  closeAnsweredStreams(): void;
  destroyAll(): void;
  stop(): void;
}

export function manageSessions(limits: ConnectionLimits = CONNECTION_LIMITS): SessionManager {
  const states = new Map<ServerHttp2Session, SessionState>();
  const streams = new Set<ServerHttp2Stream>();

  const add = (session: ServerHttp2Session): void => {
    const now = Date.now();
    const state: SessionState = {
      openedAt: now,
      maxAgeMs: limits.maxAgeMs * (0.9 + Math.random() * 0.2),
      openStreams: 0,
      lastCallAt: now,
      bytesRead: 0,
      lastReadAt: now,
      pingSentAt: undefined,
      goingAway: false,
      clientPingAt: undefined,
      pingStrikes: 0,
    };
    states.set(session, state);
    session.on("error", () => undefined);
    session.once("close", () => states.delete(session));
    // Keepalive enforcement as grpc-go does it: a client that pings more often than it may is told
    // so (GOAWAY ENHANCE_YOUR_CALM "too_many_pings", which grpc clients answer by pinging less).
    session.on("ping", () => {
      const at = Date.now();
      const least = state.openStreams > 0 ? limits.minClientPingIntervalMs : limits.minIdleClientPingIntervalMs;
      if (state.clientPingAt !== undefined && at - state.clientPingAt < least) state.pingStrikes += 1;
      state.clientPingAt = at;
      if (state.pingStrikes > MAX_PING_STRIKES && !state.goingAway) {
        state.goingAway = true;
        session.goaway(
          http2Constants.NGHTTP2_ENHANCE_YOUR_CALM,
          session.state.lastProcStreamID ?? 0,
          Buffer.from("too_many_pings"),
        );
        session.close();
      }
    });
    session.on("stream", (stream: ServerHttp2Stream) => {
      streams.add(stream);
      state.openStreams += 1;
      state.lastCallAt = Date.now();
      // A client making calls is not one to hold its pings against.
      state.pingStrikes = 0;
      stream.once("close", () => {
        streams.delete(stream);
        state.openStreams -= 1;
        state.lastCallAt = Date.now();
      });
    });
  };

  const goAway = (session: ServerHttp2Session, state: SessionState | undefined): void => {
    if (state !== undefined) state.goingAway = true;
    if (!session.closed && !session.destroyed) session.close();
  };

  const sweep = (): void => {
    const now = Date.now();
    for (const [session, state] of states) {
      if (session.destroyed) continue;
      const read = session.socket?.bytesRead ?? 0;
      if (read !== state.bytesRead) {
        state.bytesRead = read;
        state.lastReadAt = now;
        state.pingSentAt = undefined;
      }
      if (state.pingSentAt !== undefined && now - state.pingSentAt > limits.keepaliveTimeoutMs) {
        session.destroy();
        continue;
      }
      const age = now - state.openedAt;
      if (age > state.maxAgeMs + limits.maxAgeGraceMs) {
        session.destroy();
        continue;
      }
      if (
        !state.goingAway &&
        (age > state.maxAgeMs || (state.openStreams === 0 && now - state.lastCallAt > limits.maxIdleMs))
      ) {
        goAway(session, state);
        continue;
      }
      if (state.pingSentAt === undefined && now - state.lastReadAt > limits.keepaliveMs) {
        state.pingSentAt = now;
        try {
          session.ping((error) => {
            if (error !== null) return;
            state.pingSentAt = undefined;
            state.lastReadAt = Date.now();
          });
        } catch {
          session.destroy();
        }
      }
    }
  };
  const timer = setInterval(sweep, Math.min(SWEEP_MS, limits.keepaliveTimeoutMs / 4));
  timer.unref();

  return {
    add,
    get count() {
      return states.size;
    },
    goAwayAll() {
      for (const [session, state] of states) goAway(session, state);
    },
    closeAnsweredStreams() {
      for (const stream of streams) {
        // The response's last frame (END_STREAM) has been sent.
        if (stream.state.localClose === 1 && !stream.closed) stream.close(http2Constants.NGHTTP2_NO_ERROR);
      }
    },
    destroyAll() {
      for (const session of states.keys()) session.destroy();
    },
    stop: () => clearInterval(timer),
  };
}
