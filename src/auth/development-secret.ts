// With no JWT configuration, `make run` still needs tokens: a random HS256
// secret is made once under DATA_DIR (readable by its owner only) and reused,
// so tokens printed earlier keep working across restarts.
import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, writeFileSync } from "node:fs";
import path from "node:path";
import { SignJWT } from "jose";
import type { AuthConfig } from "../config";

export const DEVELOPMENT_SECRET_FILE = "dev-jwt-secret";

export function loadDevelopmentSecret(dataDir: string): string {
  const file = path.join(dataDir, DEVELOPMENT_SECRET_FILE);
  try {
    return readFileSync(file, "utf8").trim();
  } catch {
    mkdirSync(dataDir, { recursive: true });
    const secret = randomBytes(32).toString("base64url");
    try {
      writeFileSync(file, `${secret}\n`, { mode: 0o600, flag: "wx" });
      return secret;
    } catch {
      // Another process made it first: use theirs.
      return readFileSync(file, "utf8").trim();
    }
  }
}

/** A signed token for these scopes; for development and tests. */
export function signToken(
  secret: string,
  auth: Pick<AuthConfig, "issuer" | "audience">,
  scopes: readonly string[],
  options: { subject?: string; expiresIn?: string } = {},
): Promise<string> {
  return new SignJWT({ scope: scopes.join(" ") })
    .setProtectedHeader({ alg: "HS256", typ: "JWT" })
    .setIssuer(auth.issuer)
    .setAudience(auth.audience)
    .setSubject(options.subject ?? "developer")
    .setIssuedAt()
    .setExpirationTime(options.expiresIn ?? "12h")
    .sign(new TextEncoder().encode(secret));
}
