// The service's configuration: read from the environment once, validated as a
// whole, and frozen. This is the only module that reads process.env (and the
// files it names); every other module receives the values it needs from here.
import { readFileSync } from "node:fs";
import { isIP } from "node:net";

export type LogLevel = "fatal" | "error" | "warn" | "info" | "debug" | "trace" | "silent";

export interface Config {
  /** Address to listen on. */
  readonly host: string;
  /** Port to listen on; 0 picks a free one. */
  readonly port: number;
  /** PostgreSQL URL; when absent the embedded PGlite database under dataDir is used. */
  readonly databaseUrl: string | undefined;
  /** PostgreSQL URL of a session of the service's own (LISTEN, migrations), when databaseUrl is a pooler. */
  readonly databaseDirectUrl: string | undefined;
  /** Whether the pool uses named prepared statements. */
  readonly databasePrepare: boolean;
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
  /** Largest BatchCreateResponse, in encoded bytes: a batch whose response is larger is refused before it commits. */
  readonly batchMaxResponseBytes: number;
  /** How long an idempotency key (request_id) and the answer it got are kept. */
  readonly idempotencyRetentionMs: number;
  /** Deadline of unary calls that arrive without one. */
  readonly defaultDeadlineMs: number;
  /** The longest any call but WatchPrices may run. */
  readonly maxDeadlineMs: number;
  readonly auth: AuthConfig;
  /** PEM contents; undefined serves plaintext (loopback or ALLOW_INSECURE only). */
  readonly tls: TlsConfig | undefined;
  readonly allowInsecure: boolean;
  /** Port of the Prometheus /metrics endpoint; undefined serves none. */
  readonly metricsPort: number | undefined;
  /** Port of a plaintext, health-only gRPC server (for probes that cannot speak TLS); undefined serves none. */
  readonly healthPort: number | undefined;
  /** Origins whose browser pages may call the service (CORS); "*" for any; none by default. */
  readonly corsAllowedOrigins: readonly string[];
  /** How long shutdown waits for calls in flight before it forces the end. */
  readonly shutdownGraceMs: number;
  /** OTLP/HTTP endpoint that traces are exported to; undefined turns tracing off. */
  readonly otlpEndpoint: string | undefined;
  /** service.name on the spans. */
  readonly otelServiceName: string;
}

/** Where token signatures are checked against: exactly one source. */
export type JwtKeySource =
  | { readonly kind: "secret"; readonly secret: string }
  | { readonly kind: "public-key"; readonly pem: string }
  | { readonly kind: "jwks"; readonly url: string }
  /** No key configured: a development secret is made under DATA_DIR. */
  | { readonly kind: "development" };

export interface AuthConfig {
  readonly key: JwtKeySource;
  readonly issuer: string;
  readonly audience: string;
}

export interface TlsConfig {
  readonly cert: string;
  readonly key: string;
  /** When set, clients must present a certificate this CA signed (mTLS). */
  readonly clientCa: string | undefined;
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

const DEFAULT_MAX_DEADLINE_MS = 300_000;

/** Defaults for what a server built without the environment (tests, tools) is not given. */
export const SERVICE_DEFAULTS = {
  /** AIP-155 suggests idempotency keys be kept for at least a day. */
  idempotencyRetentionMs: 86_400_000,
} as const;

/** The data layer's defaults, for whatever opens a database without the environment (tests, tools). */
export const DATABASE_DEFAULTS = {
  poolMax: 10,
  prepare: true,
  /** No statement outlives the longest call. */
  statementTimeoutMs: DEFAULT_MAX_DEADLINE_MS,
} as const;

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
    databaseDirectUrl: read.optionalUrl("DATABASE_DIRECT_URL", ["postgres:", "postgresql:"]),
    databasePoolMax: read.integer("DATABASE_POOL_MAX", DATABASE_DEFAULTS.poolMax, { min: 1, max: 1000 }),
    databasePrepare: read.boolean("DATABASE_PREPARE", DATABASE_DEFAULTS.prepare),
    logLevel: read.oneOf("LOG_LEVEL", LOG_LEVELS, "info"),
    reflection: read.boolean("REFLECTION", true),
    batchMaxItems: read.integer("BATCH_MAX_ITEMS", 100_000, { min: 1, max: 10_000_000 }),
    watchMaxIds: read.integer("WATCH_MAX_IDS", 1_000, { min: 1, max: 1_000_000 }),
    // gRPC clients refuse messages over 4 MiB unless told otherwise.
    batchMaxResponseBytes: read.integer("BATCH_MAX_RESPONSE_BYTES", 4 * 1024 * 1024, { min: 1_024, max: 2 ** 31 - 1 }),
    idempotencyRetentionMs: read.integer("IDEMPOTENCY_RETENTION_MS", SERVICE_DEFAULTS.idempotencyRetentionMs, {
      min: 1_000,
      max: 30 * 86_400_000,
    }),
    defaultDeadlineMs: read.integer("DEFAULT_DEADLINE_MS", 10_000, { min: 1, max: 3_600_000 }),
    maxDeadlineMs: read.integer("MAX_DEADLINE_MS", DEFAULT_MAX_DEADLINE_MS, { min: 1, max: 86_400_000 }),
    auth: {
      key: readJwtKeySource(read),
      issuer: read.string("JWT_ISSUER", "product-service"),
      audience: read.string("JWT_AUDIENCE", "product-service"),
    },
    tls: readTls(read),
    allowInsecure: read.boolean("ALLOW_INSECURE", false),
    metricsPort: read.optionalInteger("METRICS_PORT", { min: 0, max: 65535 }),
    healthPort: read.optionalInteger("HEALTH_PORT", { min: 0, max: 65535 }),
    corsAllowedOrigins: read.origins("CORS_ALLOWED_ORIGINS"),
    shutdownGraceMs: read.integer("SHUTDOWN_GRACE_MS", 10_000, { min: 0, max: 3_600_000 }),
    // The standard OpenTelemetry names, so the usual deployment settings apply.
    otlpEndpoint: read.optionalUrl("OTEL_EXPORTER_OTLP_ENDPOINT", ["http:", "https:"]),
    otelServiceName: read.string("OTEL_SERVICE_NAME", "product-service"),
  };
  if (config.tls === undefined && !config.allowInsecure && !isLoopback(config.host)) {
    read.problems.push(
      `HOST=${config.host} is not a loopback address, and plaintext would expose every call: ` +
        "set TLS_CERT_FILE and TLS_KEY_FILE (and TLS_CLIENT_CA_FILE for mTLS), or ALLOW_INSECURE=true",
    );
  }
  if (config.databaseDirectUrl !== undefined && config.databaseUrl === undefined) {
    read.problems.push("DATABASE_DIRECT_URL needs DATABASE_URL (the embedded database has no URL)");
  }
  if (config.defaultDeadlineMs > config.maxDeadlineMs) {
    read.problems.push("DEFAULT_DEADLINE_MS must not exceed MAX_DEADLINE_MS");
  }
  if (read.problems.length > 0) throw new ConfigError(read.problems);
  return Object.freeze(config);
}

export function isLoopback(host: string): boolean {
  if (host === "localhost") return true;
  const bare = host.replace(/^\[|\]$/g, "");
  if (isIP(bare) === 4) return bare.startsWith("127.");
  if (isIP(bare) === 6) return bare === "::1";
  return false;
}

function readJwtKeySource(read: Reader): JwtKeySource {
  const secret = read.optionalString("JWT_SECRET");
  const pem = read.optionalFile("JWT_PUBLIC_KEY_FILE") ?? read.optionalString("JWT_PUBLIC_KEY");
  const jwksUrl = read.optionalUrl("JWT_JWKS_URL", ["https:", "http:"]);
  const given = [secret, pem, jwksUrl].filter((value) => value !== undefined).length;
  if (given > 1) read.problems.push("set only one of JWT_SECRET, JWT_PUBLIC_KEY and JWT_JWKS_URL");
  if (secret !== undefined) {
    // HS256 keys must be at least as long as the hash (RFC 7518 §3.2).
    if (Buffer.byteLength(secret) < 32) read.problems.push("JWT_SECRET must be at least 32 bytes long");
    return { kind: "secret", secret };
  }
  if (pem !== undefined) {
    if (!pem.includes("-----BEGIN PUBLIC KEY-----"))
      read.problems.push("JWT_PUBLIC_KEY must be a PEM public key (-----BEGIN PUBLIC KEY-----)");
    return { kind: "public-key", pem };
  }
  if (jwksUrl !== undefined) return { kind: "jwks", url: jwksUrl };
  return { kind: "development" };
}

function readTls(read: Reader): TlsConfig | undefined {
  const cert = read.optionalFile("TLS_CERT_FILE");
  const key = read.optionalFile("TLS_KEY_FILE");
  const clientCa = read.optionalFile("TLS_CLIENT_CA_FILE");
  if ((cert === undefined) !== (key === undefined)) {
    read.problems.push("TLS_CERT_FILE and TLS_KEY_FILE must be set together");
    return undefined;
  }
  if (cert === undefined || key === undefined) {
    if (clientCa !== undefined) read.problems.push("TLS_CLIENT_CA_FILE needs TLS_CERT_FILE and TLS_KEY_FILE");
    return undefined;
  }
  return { cert, key, clientCa };
}

type Reader = ReturnType<typeof createReader>;

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

    optionalString(name: string): string | undefined {
      return raw(name);
    },

    /** The contents of the file the variable names. */
    optionalFile(name: string): string | undefined {
      const file = raw(name);
      if (file === undefined) return undefined;
      try {
        return readFileSync(file, "utf8");
      } catch (error) {
        problems.push(`${name}: cannot read ${file} (${(error as NodeJS.ErrnoException).code ?? "error"})`);
        return undefined;
      }
    },

    optionalInteger(name: string, range: { min: number; max: number }): number | undefined {
      return raw(name) === undefined ? undefined : this.integer(name, 0, range);
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

    /** A comma-separated list of origins (scheme://host[:port], as browsers send them), or "*". */
    origins(name: string): readonly string[] {
      const value = raw(name);
      if (value === undefined) return [];
      const origins = value.split(",").map((origin) => origin.trim());
      for (const origin of origins) {
        if (origin === "*") continue;
        let parsed: URL | undefined;
        try {
          parsed = new URL(origin);
        } catch {
          parsed = undefined;
        }
        if (parsed === undefined || !["http:", "https:"].includes(parsed.protocol) || parsed.origin !== origin)
          problems.push(`${name}: "${origin}" is not an origin (scheme://host[:port], no path or trailing slash)`);
      }
      return origins;
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
