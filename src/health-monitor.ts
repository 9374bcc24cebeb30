// Keeps the health status true to the database: NOT_SERVING while it cannot
// be reached, SERVING again once it answers, with no restart. Kubernetes'
// readiness probe then takes a replica out of rotation while it is cut off.
import type { DatabaseHandle } from "./db/client";
import type { Logger } from "./logger";

export interface HealthMonitorOptions {
  readonly database: DatabaseHandle;
  readonly logger: Logger;
  readonly onChange: (serving: boolean) => void;
  readonly intervalMs?: number;
  /** A ping slower than this counts as a failure. */
  readonly timeoutMs?: number;
}

export interface HealthMonitor {
  /** The result of the last check. */
  readonly serving: boolean;
  stop(): void;
}

export function startHealthMonitor(options: HealthMonitorOptions): HealthMonitor {
  const intervalMs = options.intervalMs ?? 1_000;
  const timeoutMs = options.timeoutMs ?? 2_000;
  let serving = true;
  let stopped = false;
  let timer: NodeJS.Timeout | undefined;

  async function check(): Promise<void> {
    let ok: boolean;
    let timeout: NodeJS.Timeout | undefined;
    try {
      await Promise.race([
        options.database.ping(),
        new Promise((_, reject) => (timeout = setTimeout(() => reject(new Error("ping timed out")), timeoutMs))),
      ]);
      ok = true;
    } catch (error) {
      ok = false;
      if (serving) options.logger.warn({ err: error }, "database unreachable: NOT_SERVING");
    } finally {
      clearTimeout(timeout);
    }
    if (stopped) return;
    if (ok && !serving) options.logger.info("database reachable again: SERVING");
    if (ok !== serving) {
      serving = ok;
      options.onChange(ok);
    }
    timer = setTimeout(() => void check(), intervalMs);
    timer.unref();
  }

  timer = setTimeout(() => void check(), intervalMs);
  timer.unref();
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
