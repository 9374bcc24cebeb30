// The process's structured logger: JSON lines on stdout, one object per event.
// Lines are buffered and written asynchronously in blocks of 4 KiB or more,
// not one write(2) per line: under load the synchronous default spends more
// CPU in write() than the call it logs (and stalls when the reader lags).
// Buffered lines go out at least every 250 ms, so a quiet server's log is
// still current; flushLogs() writes them at once (at start-up and exit).
import pino, { type Logger } from "pino";
import type { LogLevel } from "../config";

export type { Logger };

export function createLogger(level: LogLevel, destination: pino.DestinationStream = bufferedStdout()): Logger {
  return pino(
    {
      level,
      base: { service: "product-service" },
      timestamp: pino.stdTimeFunctions.isoTime,
    },
    destination,
  );
}

function bufferedStdout(): pino.DestinationStream {
  const stdout = pino.destination({ dest: 1, sync: false, minLength: 4096 });
  setInterval(() => stdout.flush(), 250).unref();
  return stdout;
}

/** Writes out at once whatever the logger has buffered. */
export function flushLogs(logger: Logger): void {
  const stream = (logger as unknown as Record<symbol, { flushSync?: () => void }>)[pino.symbols.streamSym];
  stream?.flushSync?.();
}
