// Auth through a real server: every way a token can be wrong gets the same
// UNAUTHENTICATED with nothing echoed; a token without the scope gets
// PERMISSION_DENIED; health needs no token. Methods are taken from the
// service definition, so a new RPC is covered without editing this file.
import { generateKeyPairSync } from "node:crypto";
import { SignJWT, UnsecuredJWT } from "jose";
import { createClient, Metadata, type Channel } from "nice-grpc";
import { Status } from "nice-grpc-common";
import { HealthDefinition } from "nice-grpc-server-health";
import { ServingStatus } from "../support/health";
import { ProductServiceDefinition } from "../../gen/product/v1/product";
import { REQUIRED_SCOPES, SCOPES } from "../../src/auth/scopes";
import { createTokenVerifier } from "../../src/auth/token-verifier";
import { TEST_BACKENDS } from "../support/database";
import { newProduct, rpcError, streamOf, UNKNOWN_ID } from "../support/products";
import { serveForSuite, TEST_AUTH, TEST_SECRET, testToken } from "../support/server";

const secretKey = new TextEncoder().encode(TEST_SECRET);
const { publicKey, privateKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
const publicPem = publicKey.export({ type: "spki", format: "pem" }).toString();

function claims(overrides: Record<string, unknown> = {}) {
  return {
    scope: `${SCOPES.read} ${SCOPES.write}`,
    iss: TEST_AUTH.issuer,
    aud: TEST_AUTH.audience,
    sub: "tester",
    ...overrides,
  };
}
const now = () => Math.floor(Date.now() / 1000);

/** One call of every ProductService method, with a harmless valid request. */
const CALLS: Record<
  keyof typeof ProductServiceDefinition.methods,
  (client: ReturnType<typeof productClient>) => Promise<unknown>
> = {
  getProduct: (client) => client.getProduct({ id: UNKNOWN_ID }),
  createProduct: (client) => client.createProduct(newProduct(1)),
  deleteProduct: (client) => client.deleteProduct({ id: UNKNOWN_ID }),
  updatePrice: (client) => client.updatePrice({ id: UNKNOWN_ID, price: 1 }),
  listProducts: async (client) => {
    for await (const _ of client.listProducts({ pageSize: 1, pageToken: "" }));
  },
  batchCreateProducts: (client) => client.batchCreateProducts(streamOf([newProduct(1)])),
  watchPrices: async (client) => {
    for await (const _ of client.watchPrices(streamOf([{ productIds: [UNKNOWN_ID] }])));
  },
};
const METHODS = Object.keys(ProductServiceDefinition.methods) as (keyof typeof CALLS)[];

function productClient(channel: Channel, authorization: string | undefined) {
  const metadata = Metadata();
  if (authorization !== undefined) metadata.set("authorization", authorization);
  return createClient(ProductServiceDefinition, channel, { "*": { metadata } });
}

describe.each(TEST_BACKENDS)("auth on $name", (backend) => {
  const suite = serveForSuite(backend);

  const badTokens: [string, () => Promise<string | undefined>][] = [
    ["no authorization header", async () => undefined],
    ["Basic credentials", async () => `Basic ${Buffer.from("user:password").toString("base64")}`],
    ["an empty bearer token", async () => "Bearer "],
    ["garbage", async () => "Bearer not.a.jwt"],
    [
      "an expired token",
      async () =>
        `Bearer ${await new SignJWT(claims({ exp: now() - 60 })).setProtectedHeader({ alg: "HS256" }).sign(secretKey)}`,
    ],
    [
      "a token not yet valid",
      async () =>
        `Bearer ${await new SignJWT(claims({ nbf: now() + 600, exp: now() + 1200 })).setProtectedHeader({ alg: "HS256" }).sign(secretKey)}`,
    ],
    [
      "a token with no exp",
      async () => `Bearer ${await new SignJWT(claims()).setProtectedHeader({ alg: "HS256" }).sign(secretKey)}`,
    ],
    ["alg: none", async () => `Bearer ${new UnsecuredJWT(claims({ exp: now() + 600 })).encode()}`],
    [
      "a wrong issuer",
      async () =>
        `Bearer ${await new SignJWT(claims({ iss: "someone-else", exp: now() + 600 })).setProtectedHeader({ alg: "HS256" }).sign(secretKey)}`,
    ],
    [
      "a wrong audience",
      async () =>
        `Bearer ${await new SignJWT(claims({ aud: "another-service", exp: now() + 600 })).setProtectedHeader({ alg: "HS256" }).sign(secretKey)}`,
    ],
    [
      "a wrong signature",
      async () =>
        `Bearer ${await new SignJWT(claims({ exp: now() + 600 })).setProtectedHeader({ alg: "HS256" }).sign(new TextEncoder().encode("another-secret-that-is-also-32-bytes-long"))}`,
    ],
    [
      "an RS256 token where HS256 is configured",
      async () =>
        `Bearer ${await new SignJWT(claims({ exp: now() + 600 })).setProtectedHeader({ alg: "RS256" }).sign(privateKey)}`,
    ],
  ];

  test.each(badTokens)("%s is UNAUTHENTICATED on every method, echoing nothing", async (_, makeAuthorization) => {
    const authorization = await makeAuthorization();
    const client = productClient(suite.server.channel, authorization);
    for (const method of METHODS) {
      const error = await rpcError(CALLS[method](client));
      expect([method, Status[error.code]]).toEqual([method, "UNAUTHENTICATED"]);
      expect(error.details).toBe("a valid bearer token is required");
    }
    const logs = JSON.stringify(suite.server.logs);
    const token = authorization?.split(" ")[1];
    if (token) expect(logs).not.toContain(token);
  });

  test("a read-only token may read but gets PERMISSION_DENIED on every write method", async () => {
    const client = productClient(suite.server.channel, `Bearer ${await testToken([SCOPES.read])}`);
    for (const method of METHODS) {
      const required = REQUIRED_SCOPES.get(
        `/${ProductServiceDefinition.fullName}/${ProductServiceDefinition.methods[method].name}`,
      );
      const outcome = await CALLS[method](client).then(
        () => "OK",
        (error: { code: Status; details: string }) => [Status[error.code], error.details].join(": "),
      );
      if (required === SCOPES.write)
        expect([method, outcome]).toEqual([method, "PERMISSION_DENIED: the token lacks the scope products:write"]);
      else expect([method, outcome]).not.toEqual([method, expect.stringMatching(/UNAUTHENTICATED|PERMISSION_DENIED/)]);
    }
  });

  test("every method of the service has a scope, and only those", () => {
    const paths = Object.values(ProductServiceDefinition.methods).map(
      (method) => `/${ProductServiceDefinition.fullName}/${method.name}`,
    );
    expect([...REQUIRED_SCOPES.keys()].sort()).toEqual(paths.sort());
  });

  test("health answers without a token", async () => {
    const health = createClient(HealthDefinition, suite.server.channel);
    expect((await health.check({ service: "" })).status).toBe(ServingStatus.SERVING);
  });
});

describe("HS256 signed with the public key, against an RS256 server", () => {
  test("is refused: the algorithm is pinned to the key", async () => {
    const verifier = createTokenVerifier({ ...TEST_AUTH, key: { kind: "public-key", pem: publicPem } });
    const forged = await new SignJWT(claims({ exp: now() + 600 }))
      .setProtectedHeader({ alg: "HS256" })
      .sign(new TextEncoder().encode(publicPem));
    expect(await verifier.verify(forged)).toBeUndefined();
    const genuine = await new SignJWT(claims({ exp: now() + 600 }))
      .setProtectedHeader({ alg: "RS256" })
      .sign(privateKey);
    expect(await verifier.verify(genuine)).toMatchObject({ subject: "tester" });
  });
});

describe("a method the scope map does not know", () => {
  test("is denied even with every scope", async () => {
    const { createAuthMiddleware } = await import("../../src/middleware/auth");
    const middleware = createAuthMiddleware({ verifier: createTokenVerifier(TEST_AUTH), requiredScopes: new Map() });
    const call = {
      method: {
        path: "/product.v1.ProductService/NewMethod",
        requestStream: false,
        responseStream: false,
        options: {},
      },
      requestStream: false as const,
      request: {},
      responseStream: false as const,
      next: async function* () {
        return {};
      },
    };
    const context = {
      metadata: Metadata({ authorization: `Bearer ${await testToken()}` }),
      peer: "",
      header: Metadata(),
      trailer: Metadata(),
      sendHeader() {},
      signal: new AbortController().signal,
    };
    await expect(middleware(call as never, context).next()).rejects.toMatchObject({ code: Status.PERMISSION_DENIED });
  });
});
