// What one HTTP/2 connection may hold and how long it may live, given to
// grpc-js. A server that never lets go of a connection runs out of file
// descriptors to clients that are gone (a black-holed peer, a NAT that
// forgot it) or that keep idle connections for ever.
import type { ServerOptions } from "@grpc/grpc-js";

export const CONNECTION_LIMITS = {
  /** Streams (calls) open at once on one connection; a client queues the rest. */
  "grpc.max_concurrent_streams": 1_000,
  /** A connection with no call for this long gets GOAWAY and is closed. */
  "grpc.max_connection_idle_ms": 15 * 60_000,
  /** The server pings a connection this long after its last activity ... */
  "grpc.keepalive_time_ms": 5 * 60_000,
  /** ... and closes it when the ping is not answered within this. */
  "grpc.keepalive_timeout_ms": 20_000,
  /** A connection older than this gets GOAWAY, so clients spread over replicas that came later ... */
  "grpc.max_connection_age_ms": 60 * 60_000,
  /** ... and its calls still open this much later are ended (a WatchPrices client re-subscribes). */
  "grpc.max_connection_age_grace_ms": 5 * 60_000,
} as const satisfies ServerOptions;
