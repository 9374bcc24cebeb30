// Whether the database can be reached, as the pool has last seen it. A
// connection error marks it unreachable; from then on work fails at once
// (DatabaseUnreachableError, which clients see as UNAVAILABLE) instead of
// queueing behind connections that cannot be made, while a probe every
// PROBE_INTERVAL_MS finds the moment the database answers again.
import { isConnectionError } from "../shared/database-errors";

export const PROBE_INTERVAL_MS = 200;

export class DatabaseUnreachableError extends Error {
  readonly code = "DATABASE_UNREACHABLE";
  constructor() {
    super("the database cannot be reached");
    this.name = "DatabaseUnreachableError";
  }
}

export interface Reachability {
  /** Throws DatabaseUnreachableError while the database is known to be unreachable. */
  check(): void;
  /** Looks at a failed query: a connection error marks the database unreachable. */
  failed(error: unknown): void;
  stop(): void;
}

/**
 * `probe` is a cheap round trip, bounded by itself (it settles within a
 * second or so whatever the database does); it runs only while the database
 * is unreachable, one at a time.
 */
export function createReachability(probe: () => Promise<void>): Reachability {
  let reachable = true;
  let timer: NodeJS.Timeout | undefined;
  let stopped = false;

  const probeUntilReachable = () => {
    timer = setTimeout(() => {
      probe().then(
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
