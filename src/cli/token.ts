// `make token SCOPES="products:read products:write"`: prints a token, and only
// the token, signed the way the server checks it (JWT_SECRET, or the
// development secret under DATA_DIR), so that `TOKEN=$(make -s token)` works.
import { loadDevelopmentSecret, signToken } from "../auth/development-secret";
import { ConfigError, loadConfig } from "../config";

async function main(): Promise<void> {
  const config = loadConfig();
  const scopes = (process.argv[2] ?? "").split(/[\s,]+/).filter((scope) => scope !== "");
  const { key } = config.auth;
  if (key.kind !== "secret" && key.kind !== "development") {
    throw new Error("tokens for a public key or a JWKS are issued by their identity provider, not here");
  }
  const secret = key.kind === "secret" ? key.secret : loadDevelopmentSecret(config.dataDir);
  process.stdout.write(`${await signToken(secret, config.auth, scopes)}\n`);
}

main().catch((error: unknown) => {
  process.stderr.write(`${error instanceof ConfigError || error instanceof Error ? error.message : String(error)}\n`);
  process.exit(1);
});
