// Whether the database can be reached, as the pool has last seen it. A
// connection error marks it unreachable; from then on work fails at once
// (DatabaseUnreachableError, which clients see as UNAVAILABLE) instead of
// queueing behind connections that cannot be made, while a probe every
// PROBE_INTERVAL_MS finds the moment the database answers again.

/** Error codes of Node's sockets and of postgres.js, and SQLSTATE classes, that mean "no database". */
const CONNECTION_ERROR_CODES = new Set([
  "ECONNREFUSED",
  "ECONNRESET",
  "ETIMEDOUT",
  "EPIPE",
  "EHOSTUNREACH",
  "ENETUNREACH",
  "ENOTFOUND",
  "EAI_AGAIN",
  "CONNECTION_CLOSED",
  "CONNECTION_ENDED",
  "CONNECTION_DESTROYED",
  "CONNECT_TIMEOUT",
  "57P01", // admin_shutdown
  "57P02", // crash_shutdown
  "57P03", // cannot_connect_now
]);

export const PROBE_INTERVAL_MS = 200;
/** A probe that has not answered by then counts as failed, and the next one starts. */
const PROBE_TIMEOUT_MS = 1_000;

export class DatabaseUnreachableError extends Error {
  readonly code = "DATABASE_UNREACHABLE";
  constructor() {
    super("the database cannot be reached");
    this.name = "DatabaseUnreachableError";
  }
}

export function isConnectionError(error: unknown): boolean {
  for (let current = error, depth = 0; current !== null && typeof current === "object" && depth < 8; depth += 1) {
    const code = (current as { code?: unknown }).code;
    if (
      typeof code === "string" &&
      (CONNECTION_ERROR_CODES.has(code) || code.startsWith("08") || code === "DATABASE_UNREACHABLE")
    )
      return true;
    current = (current as { cause?: unknown }).cause;
  }
  return false;
}

export interface Reachability {
  /** Throws DatabaseUnreachableError while the database is known to be unreachable. */
  check(): void;
  /** Looks at a failed query: a connection error marks the database unreachable. */
  failed(error: unknown): void;
  stop(): void;
}

/** `probe` is a cheap round trip; it runs only while the database is unreachable. */
export function createReachability(probe: () => Promise<void>): Reachability {
  let reachable = true;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const probeUntilReachable = () => {
    timer = setTimeout(() => {
      let timeout: NodeJS.Timeout | undefined;
      const bounded = Promise.race([
        probe(),
        new Promise<never>(
          (_, reject) => (timeout = setTimeout(() => reject(new Error("probe timed out")), PROBE_TIMEOUT_MS)),
        ),
      ]).finally(() => clearTimeout(timeout));
      bounded.then(
        () => {
          reachable = true;
          timer = undefined;
        },
        () => {
          if (!stopped) probeUntilReachable();
        },
      );
    }, PROBE_INTERVAL_MS);
    timer.unref();
  };

  return {
    check() {
      if (!reachable) throw new DatabaseUnreachableError();
    },
    failed(error) {
      if (!reachable || stopped || !isConnectionError(error)) return;
      reachable = false;
      probeUntilReachable();
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
