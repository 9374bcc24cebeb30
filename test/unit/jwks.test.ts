// JWT_JWKS_URL: keys come from a JWKS endpoint (here, one the test serves),
// and a token signed with a key the endpoint starts publishing later (a
// rotation) verifies once the set is fetched again.
import http from "node:http";
import type { AddressInfo } from "node:net";
import { exportJWK, generateKeyPair, SignJWT, type JWK } from "jose";
import { createTokenVerifier } from "../../src/auth/token-verifier";

const AUTH = { issuer: "https://issuer.test", audience: "product-service" };

async function keyPair(kid: string, alg: "RS256" | "ES256") {
  const { publicKey, privateKey } = await generateKeyPair(alg);
  return { kid, alg, privateKey, jwk: { ...(await exportJWK(publicKey)), kid, alg, use: "sig" } as JWK };
}

test("verifies with the published keys and follows a rotation", async () => {
  const first = await keyPair("key-1", "RS256");
  const second = await keyPair("key-2", "ES256");
  let published: JWK[] = [first.jwk];
  let fetches = 0;
  const server = http.createServer((_, response) => {
    fetches += 1;
    response.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ keys: published }));
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/jwks.json`;
  try {
    const verifier = createTokenVerifier({ ...AUTH, key: { kind: "jwks", url } }, { jwksCooldownMs: 0 });
    const sign = (pair: Awaited<ReturnType<typeof keyPair>>, scope: string) =>
      new SignJWT({ scope })
        .setProtectedHeader({ alg: pair.alg, kid: pair.kid })
        .setIssuer(AUTH.issuer)
        .setAudience(AUTH.audience)
        .setExpirationTime("5m")
        .sign(pair.privateKey);

    expect(await verifier.verify(await sign(first, "products:read"))).toMatchObject({
      scopes: new Set(["products:read"]),
    });
    // Not yet published: refused.
    expect(await verifier.verify(await sign(second, "products:write"))).toBeUndefined();
    published = [first.jwk, second.jwk];
    expect(await verifier.verify(await sign(second, "products:write"))).toMatchObject({
      scopes: new Set(["products:write"]),
    });
    expect(fetches).toBeGreaterThanOrEqual(2);
    // A token whose header asks for HS256 cannot use a published key as a secret.
    const forged = await new SignJWT({ scope: "products:write" })
      .setProtectedHeader({ alg: "HS256", kid: "key-1" })
      .setIssuer(AUTH.issuer)
      .setAudience(AUTH.audience)
      .setExpirationTime("5m")
      .sign(new TextEncoder().encode(JSON.stringify(first.jwk)));
    expect(await verifier.verify(forged)).toBeUndefined();
  } finally {
    server.close();
  }
});
