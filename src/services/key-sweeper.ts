// Deletes expired idempotency keys. Expiry itself needs no sweep (a claim
// treats an expired key as free); the sweep only keeps the table from growing.
// Every replica sweeps: the DELETE is safe to run from several at once.
import type { WriteRunner } from "../repos/idempotency-repo";
import type { Logger } from "pino";

export interface KeySweeper {
  stop(): void;
}

/** A tenth of the retention, between 1 second and 10 minutes. */
export function sweepIntervalMs(retentionMs: number): number {
  return Math.min(Math.max(Math.floor(retentionMs / 10), 1_000), 600_000);
}

export function startKeySweeper(options: { writes: WriteRunner; retentionMs: number; logger: Logger }): KeySweeper {
  const { writes, logger } = options;
  let running = false;
  const timer = setInterval(() => {
    if (running) return;
    running = true;
    writes
      .sweep()
      .then((deleted) => {
        if (deleted > 0) logger.debug({ deleted }, "expired idempotency keys deleted");
      })
      // A database that is down is reported by health; the next sweep catches up.
      .catch((error: unknown) => logger.warn({ err: error }, "idempotency key sweep failed"))
      .finally(() => (running = false));
  }, sweepIntervalMs(options.retentionMs));
  timer.unref();
  return { stop: () => clearInterval(timer) };
}
