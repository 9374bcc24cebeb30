import { ConfigError, loadConfig } from "../../src/config";

test("defaults give a loopback server on the embedded database", () => {
  const config = loadConfig({});
  expect(config).toMatchObject({
    host: "127.0.0.1",
    port: 50051,
    databaseUrl: undefined,
    dataDir: ".data",
    reflection: true,
  });
  expect(Object.isFrozen(config)).toBe(true);
});

test("values are read from the environment", () => {
  const config = loadConfig({
    HOST: "0.0.0.0",
    ALLOW_INSECURE: "true",
    PORT: "6000",
    DATABASE_URL: "postgres://u@db:5432/x",
    REFLECTION: "false",
    LOG_LEVEL: "debug",
  });
  expect(config).toMatchObject({
    host: "0.0.0.0",
    port: 6000,
    databaseUrl: "postgres://u@db:5432/x",
    reflection: false,
    logLevel: "debug",
  });
});

test("one error names every bad variable and never echoes a database URL", () => {
  const attempt = () =>
    loadConfig({ PORT: "http", REFLECTION: "maybe", LOG_LEVEL: "loud", DATABASE_URL: "mysql://user:s3cret@host/db" });
  expect(attempt).toThrow(ConfigError);
  try {
    attempt();
  } catch (error) {
    const message = (error as ConfigError).message;
    for (const name of ["PORT", "REFLECTION", "LOG_LEVEL", "DATABASE_URL"]) expect(message).toContain(name);
    expect(message).not.toContain("s3cret");
    expect((error as ConfigError).problems).toHaveLength(4);
  }
});

test("ports out of range are refused", () => {
  expect(() => loadConfig({ PORT: "70000" })).toThrow(/PORT must be a whole number from 0 to 65535/);
  expect(() => loadConfig({ PORT: "-1" })).toThrow(/PORT/);
});

test("a pooled DATABASE_URL takes a direct URL for sessions and can turn prepared statements off", () => {
  expect(loadConfig({})).toMatchObject({ databaseDirectUrl: undefined, databasePrepare: true, databasePoolMax: 10 });
  expect(
    loadConfig({
      DATABASE_URL: "postgres://u@pooler:6432/x",
      DATABASE_DIRECT_URL: "postgresql://u@db:5432/x",
      DATABASE_PREPARE: "false",
    }),
  ).toMatchObject({
    databaseUrl: "postgres://u@pooler:6432/x",
    databaseDirectUrl: "postgresql://u@db:5432/x",
    databasePrepare: false,
  });
});

test("bad database settings are named together, and a direct URL needs a pooled one", () => {
  try {
    loadConfig({
      DATABASE_DIRECT_URL: "mysql://user:s3cret@db/x",
      DATABASE_PREPARE: "sometimes",
      DATABASE_POOL_MAX: "0",
    });
    throw new Error("accepted");
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const { message, problems } = error as ConfigError;
    for (const name of ["DATABASE_DIRECT_URL", "DATABASE_PREPARE", "DATABASE_POOL_MAX"])
      expect(message).toContain(name);
    expect(message).not.toContain("s3cret");
    expect(problems).toHaveLength(3);
  }
  expect(() => loadConfig({ DATABASE_DIRECT_URL: "postgres://u@db:5432/x" })).toThrow(
    /DATABASE_DIRECT_URL needs DATABASE_URL/,
  );
});

test("CORS_ALLOWED_ORIGINS takes origins as browsers send them, or *; none by default", () => {
  expect(loadConfig({}).corsAllowedOrigins).toEqual([]);
  expect(
    loadConfig({ CORS_ALLOWED_ORIGINS: "https://shop.example, http://localhost:5173" }).corsAllowedOrigins,
  ).toEqual(["https://shop.example", "http://localhost:5173"]);
  expect(loadConfig({ CORS_ALLOWED_ORIGINS: "*" }).corsAllowedOrigins).toEqual(["*"]);
  for (const origin of ["https://shop.example/", "https://shop.example/app", "shop.example", "ftp://shop.example"])
    expect(() => loadConfig({ CORS_ALLOWED_ORIGINS: origin })).toThrow(/CORS_ALLOWED_ORIGINS: ".*" is not an origin/);
});

test("settings that contradict each other are refused", () => {
  expect(() => loadConfig({ DEFAULT_DEADLINE_MS: "60000", MAX_DEADLINE_MS: "1000" })).toThrow(
    /DEFAULT_DEADLINE_MS must not exceed MAX_DEADLINE_MS/,
  );
  expect(() => loadConfig({ HOST: "0.0.0.0" })).toThrow(/HOST=0.0.0.0 is not a loopback address/);
  expect(loadConfig({ HOST: "::1" }).host).toBe("::1");
  expect(() => loadConfig({ JWT_SECRET: "short" })).toThrow(/JWT_SECRET must be at least 32 bytes long/);
  expect(() => loadConfig({ JWT_SECRET: "x".repeat(32), JWT_JWKS_URL: "https://idp.example/jwks" })).toThrow(
    /set only one of JWT_SECRET, JWT_PUBLIC_KEY and JWT_JWKS_URL/,
  );
  expect(() => loadConfig({ TLS_CERT_FILE: "/etc/hostname" })).toThrow(
    /TLS_CERT_FILE and TLS_KEY_FILE must be set together/,
  );
});
