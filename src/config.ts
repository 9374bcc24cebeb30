// The service's configuration: read from the environment once, validated as a
// whole, and frozen. This is the only module that reads process.env; every
// other module receives the values it needs from here.

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

export interface Config {
  /** Address to listen on. */
  readonly host: string;
  /** Port to listen on; 0 picks a free one. */
  readonly port: number;
  /** PostgreSQL URL; when absent the embedded PGlite database under dataDir is used. */
  readonly databaseUrl: string | undefined;
  /** Where the embedded database (and development secrets) live. */
  readonly dataDir: string;
  /** Most connections the PostgreSQL pool opens. */
  readonly databasePoolMax: number;
  readonly logLevel: LogLevel;
  /** Whether gRPC server reflection is served. */
  readonly reflection: boolean;
  /** Most items one BatchCreateProducts stream may carry. */
  readonly batchMaxItems: number;
  /** Most product ids one WatchPrices stream may watch. */
  readonly watchMaxIds: number;
  /** Deadline of unary calls that arrive without one. */
  readonly defaultDeadlineMs: number;
  /** The longest any call but WatchPrices may run. */
  readonly maxDeadlineMs: number;
}

/** Thrown when the environment holds invalid values; the message names every one. */
export class ConfigError extends Error {
  constructor(readonly problems: readonly string[]) {
    super(`invalid configuration:\n${problems.map((problem) => `  - ${problem}`).join("\n")}`);
    this.name = "ConfigError";
  }
}

type Env = Readonly<Record<string, string | undefined>>;

const LOG_LEVELS: readonly LogLevel[] = ["fatal", "error", "warn", "info", "debug", "trace", "silent"];

/**
 * Reads every variable, collecting all problems before failing, so that one
 * start-up attempt tells the operator everything that must change.
 */
export function loadConfig(env: Env = process.env): Config {
  const read = createReader(env);
  const config: Config = {
    host: read.string("HOST", "127.0.0.1"),
    port: read.integer("PORT", 50051, { min: 0, max: 65535 }),
    databaseUrl: read.optionalUrl("DATABASE_URL", ["postgres:", "postgresql:"]),
    dataDir: read.string("DATA_DIR", ".data"),
    databasePoolMax: read.integer("DATABASE_POOL_MAX", 10, { min: 1, max: 1000 }),
    logLevel: read.oneOf("LOG_LEVEL", LOG_LEVELS, "info"),
    reflection: read.boolean("REFLECTION", true),
    batchMaxItems: read.integer("BATCH_MAX_ITEMS", 100_000, { min: 1, max: 10_000_000 }),
    watchMaxIds: read.integer("WATCH_MAX_IDS", 1_000, { min: 1, max: 1_000_000 }),
    defaultDeadlineMs: read.integer("DEFAULT_DEADLINE_MS", 10_000, { min: 1, max: 3_600_000 }),
    maxDeadlineMs: read.integer("MAX_DEADLINE_MS", 300_000, { min: 1, max: 86_400_000 }),
  };
  if (config.defaultDeadlineMs > config.maxDeadlineMs) {
    read.problems.push("DEFAULT_DEADLINE_MS must not exceed MAX_DEADLINE_MS");
  }
  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return Object.freeze(config);
}

/** Typed readers over one environment that record problems instead of throwing. */
function createReader(env: Env) {
  const problems: string[] = [];
  const raw = (name: string): string | undefined => {
    const value = env[name];
    return value === undefined || value.trim() === "" ? undefined : value.trim();
  };

  return {
    problems,

    string(name: string, fallback: string): string {
      return raw(name) ?? fallback;
    },

    integer(name: string, fallback: number, range: { min: number; max: number }): number {
      const value = raw(name);
      if (value === undefined) return fallback;
      const parsed = /^-?\d+$/.test(value) ? Number(value) : Number.NaN;
      if (!Number.isSafeInteger(parsed) || parsed < range.min || parsed > range.max) {
        problems.push(`${name} must be a whole number from ${range.min} to ${range.max}, got "${value}"`);
        return fallback;
      }
      return parsed;
    },

    boolean(name: string, fallback: boolean): boolean {
      const value = raw(name)?.toLowerCase();
      if (value === undefined) return fallback;
      if (["true", "1", "yes", "on"].includes(value)) return true;
      if (["false", "0", "no", "off"].includes(value)) return false;
      problems.push(`${name} must be true or false, got "${value}"`);
      return fallback;
    },

    oneOf<T extends string>(name: string, allowed: readonly T[], fallback: T): T {
      const value = raw(name);
      if (value === undefined) return fallback;
      if ((allowed as readonly string[]).includes(value)) return value as T;
      problems.push(`${name} must be one of ${allowed.join(", ")}, got "${value}"`);
      return fallback;
    },

    optionalUrl(name: string, protocols: readonly string[]): string | undefined {
      const value = raw(name);
      if (value === undefined) return undefined;
      let protocol: string | undefined;
      try {
        protocol = new URL(value).protocol;
      } catch {
        protocol = undefined;
      }
      if (protocol === undefined || !protocols.includes(protocol)) {
        // The value may hold a password: name the variable, never echo it.
        problems.push(`${name} must be a URL starting with ${protocols.map((p) => `${p}//`).join(" or ")}`);
        return undefined;
      }
      return value;
    },
  };
}
