// Keeps the health status true to the database, with a policy a probe can
// live with: a check that fails outright (the database refuses, the
// connection drops) makes the server NOT_SERVING at once; a check that is
// merely slow counts, and only FAILURES_BEFORE_NOT_SERVING slow checks in a
// row do (so a database slowed by load does not get pods restarted); the
// first check that succeeds makes it SERVING again. While NOT_SERVING it
// checks more often, so recovery is seen within a fraction of a second.
import type { DatabaseHandle } from "../db/client";
import type { Logger } from "../observability/logger";

export interface DatabaseHealthOptions {
  readonly database: DatabaseHandle;
  readonly logger: Logger;
  readonly onChange: (serving: boolean) => void;
  /** Between checks while SERVING. */
  readonly intervalMs?: number;
  /** Between checks while NOT_SERVING. */
  readonly recoveryIntervalMs?: number;
  /** A check slower than this counts as slow. */
  readonly timeoutMs?: number;
}

export interface DatabaseHealth {
  /** The result of the policy so far. */
  readonly serving: boolean;
  stop(): void;
}

export const FAILURES_BEFORE_NOT_SERVING = 3;

class SlowCheck extends Error {
  constructor() {
    super("health check timed out");
  }
}

export function startDatabaseHealth(options: DatabaseHealthOptions): DatabaseHealth {
  const intervalMs = options.intervalMs ?? 1_000;
  const recoveryIntervalMs = options.recoveryIntervalMs ?? 200;
  const timeoutMs = options.timeoutMs ?? 2_000;
  let serving = true;
  let slowInARow = 0;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  const set = (now: boolean, error?: unknown) => {
    if (now === serving) return;
    serving = now;
    if (now) options.logger.info("database reachable again: SERVING");
    else options.logger.warn({ err: error }, "database unreachable: NOT_SERVING");
    options.onChange(now);
  };

  async function check(): Promise<void> {
    let timeout: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        options.database.ping(),
        new Promise((_, reject) => (timeout = setTimeout(() => reject(new SlowCheck()), timeoutMs))),
      ]);
      slowInARow = 0;
      if (!stopped) set(true);
    } catch (error) {
      if (stopped) return;
      if (error instanceof SlowCheck) {
        slowInARow += 1;
        if (slowInARow >= FAILURES_BEFORE_NOT_SERVING) set(false, error);
      } else {
        set(false, error);
      }
    } finally {
      clearTimeout(timeout);
    }
    schedule();
  }

  function schedule(): void {
    if (stopped) return;
    timer = setTimeout(() => void check(), serving ? intervalMs : recoveryIntervalMs);
    timer.unref();
  }

  schedule();
  return {
    get serving() {
      return serving;
    },
    stop() {
      stopped = true;
      clearTimeout(timer);
    },
  };
}
