// Verifies bearer tokens (JWTs) with jose: algorithms pinned to the key's
// kind, issuer and audience checked, `exp` required, a small clock tolerance.
// A verified token is remembered until it expires, so a client that reuses
// its token pays for the signature check once, not on every call.
import { createPublicKey, type KeyObject } from "node:crypto";
import { createRemoteJWKSet, jwtVerify, type JWTPayload, type JWTVerifyGetKey } from "jose";
import type { AuthConfig } from "../config";

export interface Principal {
  /** The token's `sub`, when it has one. */
  readonly subject: string | undefined;
  readonly scopes: ReadonlySet<string>;
}

export interface TokenVerifier {
  /** The principal the token proves, or undefined for any token that does not verify. */
  verify(token: string): Promise<Principal | undefined>;
}

const CLOCK_TOLERANCE_SECONDS = 5;
const CACHE_MAX_ENTRIES = 10_000;

type Key = Uint8Array | KeyObject | JWTVerifyGetKey;

/** The key and the only algorithms it may verify: a token cannot pick its own. */
function keyFor(
  config: AuthConfig,
  developmentSecret: string | undefined,
  jwksCooldownMs: number,
): { key: Key; algorithms: string[] } {
  switch (config.key.kind) {
    case "secret":
      return { key: new TextEncoder().encode(config.key.secret), algorithms: ["HS256"] };
    case "development":
      if (developmentSecret === undefined) throw new Error("the development secret is missing");
      return { key: new TextEncoder().encode(developmentSecret), algorithms: ["HS256"] };
    case "public-key": {
      const key = createPublicKey(config.key.pem);
      return { key, algorithms: key.asymmetricKeyType === "ec" ? ["ES256"] : ["RS256"] };
    }
    case "jwks":
      // jose caches the key set, refetches it when a token names an unknown
      // key id (rotation), and rate-limits those refetches.
      return {
        key: createRemoteJWKSet(new URL(config.key.url), { cooldownDuration: jwksCooldownMs, cacheMaxAge: 600_000 }),
        algorithms: ["RS256", "ES256"],
      };
  }
}

/** OAuth 2 `scope` (space-separated) or `scp` (array), as issuers differ. */
function scopesOf(payload: JWTPayload): Set<string> {
  const scopes = new Set<string>();
  if (typeof payload.scope === "string") for (const scope of payload.scope.split(" ")) if (scope) scopes.add(scope);
  if (Array.isArray(payload.scp)) for (const scope of payload.scp) if (typeof scope === "string") scopes.add(scope);
  return scopes;
}

export interface TokenVerifierOptions {
  readonly developmentSecret?: string | undefined;
  readonly now?: () => number;
  /** Least time between two JWKS fetches (rotation); 30 s unless a test says otherwise. */
  readonly jwksCooldownMs?: number;
}

export function createTokenVerifier(config: AuthConfig, options: TokenVerifierOptions = {}): TokenVerifier {
  const { key, algorithms } = keyFor(config, options.developmentSecret, options.jwksCooldownMs ?? 30_000);
  const now = options.now ?? Date.now;
  const cache = new Map<string, { principal: Principal; expiresAtMs: number }>();

  return {
    async verify(token) {
      const cached = cache.get(token);
      if (cached !== undefined) {
        if (cached.expiresAtMs > now()) return cached.principal;
        cache.delete(token);
      }
      let payload: JWTPayload;
      try {
        ({ payload } = await jwtVerify(token, key as Uint8Array, {
          algorithms,
          issuer: config.issuer,
          audience: config.audience,
          requiredClaims: ["exp"],
          clockTolerance: CLOCK_TOLERANCE_SECONDS,
          currentDate: new Date(now()),
        }));
      } catch {
        // Why a token failed is for the log of a debugging session, never for
        // the caller: the reason would help someone forging tokens.
        return undefined;
      }
      const principal: Principal = { subject: payload.sub, scopes: scopesOf(payload) };
      if (cache.size >= CACHE_MAX_ENTRIES) cache.delete(cache.keys().next().value as string);
      cache.set(token, { principal, expiresAtMs: (payload.exp as number) * 1000 });
      return principal;
    },
  };
}
