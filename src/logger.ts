// The process's structured logger: JSON lines on stdout, one object per event.
import pino, { type Logger } from "pino";
import type { LogLevel } from "./config";

export type { Logger };

export function createLogger(level: LogLevel, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: "product-service" },
      timestamp: pino.stdTimeFunctions.isoTime,
      // A second line of defence: whatever a caller logs, these never reach the output.
      redact: { paths: ["authorization", "*.authorization", "token", "*.token"], censor: "[redacted]" },
    },
    destination,
  );
}
