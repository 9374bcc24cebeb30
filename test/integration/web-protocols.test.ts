// Browsers and plain HTTP clients call the service directly: gRPC-Web
// (binary and base64 text) and the Connect protocol (JSON and binary, unary
// POST and GET, streams), over HTTP/1.1 and HTTP/2 on the gRPC port, through
// the same call path as gRPC (auth, request id, deadline, log line, details).
import { BadRequest, ErrorInfo, RequestInfo } from "nice-grpc-error-details";
import { Status } from "nice-grpc-common";
import postgres from "postgres";
import {
  CreateProductRequest,
  GetProductRequest,
  ListProductsRequest,
  Product,
  WatchRequest,
} from "../../gen/product/v1/product";
import { SCOPES } from "../../src/auth/scopes";
import { Base64Stream } from "../../src/transport/base64-stream";
import { decodeRpcStatus } from "../../src/transport/rpc-status";
import { describeOnPostgres, TEST_BACKENDS } from "../support/database";
import { newProduct, productCount, UNKNOWN_ID } from "../support/products";
import { serveForSuite, startTestServer, testToken, type TestServer } from "../support/server";
import { until } from "../support/wait";
import {
  envelopeOf,
  grpcWebStatus,
  grpcWebTrailers,
  http1Request,
  http2Request,
  unframe,
  type WebRequest,
  type WebResponse,
} from "../support/web";

const SERVICE = "/product.v1.ProductService";
const ALLOWED_ORIGIN = "https://shop.example";
const HTTP_VERSIONS = [
  ["HTTP/1.1", http1Request],
  ["HTTP/2", http2Request],
] as const;

describe.each(TEST_BACKENDS)("web protocols on $name", (backend) => {
  const suite = serveForSuite(backend, { corsAllowedOrigins: [ALLOWED_ORIGIN] });
  let auth: Record<string, string>;
  beforeAll(async () => {
    auth = { authorization: `Bearer ${await testToken()}` };
  });

  describe.each(HTTP_VERSIONS)("over %s", (_, send) => {
    const call = (request: WebRequest): Promise<WebResponse> => send(suite.server.port, request);

    describe("gRPC-Web", () => {
      const grpcWeb = (method: string, message: Uint8Array, text = false) =>
        call({
          path: `${SERVICE}/${method}`,
          headers: {
            ...auth,
            "content-type": text ? "application/grpc-web-text" : "application/grpc-web+proto",
            "x-grpc-web": "1",
          },
          body: text ? envelopeOf(message).toString("base64") : envelopeOf(message),
        });

      test.each([false, true])("CreateProduct answers with the stored product (text mode: %s)", async (text) => {
        const response = await grpcWeb(
          "CreateProduct",
          CreateProductRequest.encode(newProduct(1, `grpc-web-${String(text)}`)).finish(),
          text,
        );
        expect(response.status).toBe(200);
        expect(response.headers["content-type"]).toBe(
          text ? "application/grpc-web-text+proto" : "application/grpc-web+proto",
        );
        expect(response.headers["x-request-id"]).toEqual(expect.any(String));
        // Each frame is base64-encoded (and padded) on its own.
        const body = text ? new Base64Stream().push(response.body.toString("latin1")) : response.body;
        const { messages, last } = unframe(body, 0x80);
        expect(Product.decode(messages[0] as Buffer)).toMatchObject({ name: "product 1", price: 1.25 });
        expect(grpcWebTrailers(last)).toMatchObject({ "grpc-status": "0" });
      });

      test("ListProducts streams a page, and the next page's token in the trailers", async () => {
        const category = "grpc-web-list";
        for (let i = 0; i < 3; i += 1) await suite.server.client.createProduct(newProduct(i, category));
        const response = await grpcWeb(
          "ListProducts",
          ListProductsRequest.encode({ category, pageSize: 2, pageToken: "" }).finish(),
        );
        const { messages, last } = unframe(response.body, 0x80);
        expect(messages.map((message) => Product.decode(message).name)).toEqual(["product 0", "product 1"]);
        expect(grpcWebTrailers(last)).toMatchObject({
          "grpc-status": "0",
          "next-page-token": expect.stringMatching(/^v1\./),
        });
      });

      test("a failure carries its status, message and google.rpc details in the trailer frame", async () => {
        const response = await grpcWeb("GetProduct", GetProductRequest.encode({ id: "not-a-uuid" }).finish());
        expect(grpcWebStatus(response)).toEqual({ code: Status.INVALID_ARGUMENT, message: "id: must be a UUID" });
        const trailers = grpcWebTrailers(unframe(response.body, 0x80).last);
        const details = decodeRpcStatus(Buffer.from(trailers["grpc-status-details-bin"] as string, "base64")).details;
        const badRequest = details.find((detail) => detail.typeUrl.endsWith("google.rpc.BadRequest"));
        expect(BadRequest.decode(badRequest?.value as Uint8Array).fieldViolations).toEqual([
          expect.objectContaining({ field: "id", description: "must be a UUID" }),
        ]);
      });

      test("an unknown method is UNIMPLEMENTED; without a token, UNAUTHENTICATED", async () => {
        const unknown = await call({
          path: `${SERVICE}/Nope`,
          headers: { "content-type": "application/grpc-web+proto" },
          body: envelopeOf(new Uint8Array()),
        });
        expect(grpcWebStatus(unknown).code).toBe(Status.UNIMPLEMENTED);
        const anonymous = await call({
          path: `${SERVICE}/GetProduct`,
          headers: { "content-type": "application/grpc-web+proto" },
          body: envelopeOf(GetProductRequest.encode({ id: UNKNOWN_ID }).finish()),
        });
        expect(grpcWebStatus(anonymous).code).toBe(Status.UNAUTHENTICATED);
      });
    });

    describe("the Connect protocol", () => {
      const connect = (method: string, body: string | Uint8Array, headers: Record<string, string> = {}) =>
        call({
          path: `${SERVICE}/${method}`,
          headers: { ...auth, "content-type": "application/json", "connect-protocol-version": "1", ...headers },
          body,
        });
      const json = (response: WebResponse) => JSON.parse(response.body.toString("utf8")) as Record<string, unknown>;

      test("a unary JSON call: CreateProduct then GetProduct, by POST and by GET", async () => {
        const created = await connect(
          "CreateProduct",
          JSON.stringify({ name: "Mug", price: 3, categoryId: "connect-json", tags: ["a"] }),
        );
        expect(created.status).toBe(200);
        expect(created.headers["content-type"]).toBe("application/json");
        const product = json(created);
        expect(product).toMatchObject({ name: "Mug", price: 3, category: "connect-json", inStock: true, tags: ["a"] });
        expect(product.createdAt).toMatch(/^\d{4}-\d\d-\d\dT/);

        const read = await connect("GetProduct", JSON.stringify({ id: product.id }));
        expect(json(read)).toEqual(product);
        const query = new URLSearchParams({
          connect: "v1",
          encoding: "json",
          message: JSON.stringify({ id: product.id }),
        });
        const byGet = await call({ method: "GET", path: `${SERVICE}/GetProduct?${query.toString()}`, headers: auth });
        expect(byGet.status).toBe(200);
        expect(json(byGet)).toEqual(product);
      });

      test("a unary binary call, and a GET with a base64 binary message", async () => {
        const created = await connect(
          "CreateProduct",
          CreateProductRequest.encode(newProduct(2, "connect-proto")).finish(),
          {
            "content-type": "application/proto",
          },
        );
        expect(created.headers["content-type"]).toBe("application/proto");
        const product = Product.decode(created.body);
        const message = Buffer.from(GetProductRequest.encode({ id: product.id }).finish()).toString("base64url");
        const byGet = await call({
          method: "GET",
          path: `${SERVICE}/GetProduct?encoding=proto&base64=1&message=${message}`,
          headers: auth,
        });
        expect(Product.decode(byGet.body)).toEqual(product);
      });

      test("a server stream in JSON ends with the next page's token in its end-of-stream message", async () => {
        const category = "connect-stream";
        for (let i = 0; i < 3; i += 1) await suite.server.client.createProduct(newProduct(i, category));
        const response = await connect(
          "ListProducts",
          envelopeOf(Buffer.from(JSON.stringify({ category, pageSize: 2 }))),
          {
            "content-type": "application/connect+json",
          },
        );
        expect(response.headers["content-type"]).toBe("application/connect+json");
        const { messages, last } = unframe(response.body, 0x02);
        expect(messages.map((message) => (JSON.parse(message.toString()) as { name: string }).name)).toEqual([
          "product 0",
          "product 1",
        ]);
        expect(JSON.parse((last as Buffer).toString())).toEqual({
          metadata: { "next-page-token": [expect.stringMatching(/^v1\./)] },
        });
      });

      test("an error is Connect's JSON error with the HTTP status of its code and the same details", async () => {
        const response = await connect("GetProduct", JSON.stringify({ id: UNKNOWN_ID }));
        expect(response.status).toBe(404);
        expect(response.headers["content-type"]).toBe("application/json");
        const error = json(response) as { code: string; message: string; details: { type: string; value: string }[] };
        expect(error).toMatchObject({ code: "not_found", message: `product ${UNKNOWN_ID} not found` });
        const detail = (type: string) => Buffer.from(error.details.find((d) => d.type === type)?.value ?? "", "base64");
        expect(ErrorInfo.decode(detail("google.rpc.ErrorInfo"))).toMatchObject({
          reason: "PRODUCT_NOT_FOUND",
          domain: "product.v1",
        });
        expect(RequestInfo.decode(detail("google.rpc.RequestInfo")).requestId).toBe(response.headers["x-request-id"]);
      });

      test.each([
        ["malformed JSON", "{not json", 400, "invalid_argument", "the request body is not valid JSON"],
        [
          "an unknown field",
          JSON.stringify({ name: "x", price: 1, colour: "red" }),
          400,
          "invalid_argument",
          "colour: is not a field of product.v1.CreateProductRequest",
        ],
        [
          "a value of the wrong type",
          JSON.stringify({ name: "x", price: "cheap" }),
          400,
          "invalid_argument",
          'price: expected number (float64), got "cheap"',
        ],
        ["a lone surrogate", '{"name":"\\ud800","price":1}', 400, "invalid_argument", "name: is not valid Unicode"],
        [
          "an invalid field value",
          JSON.stringify({ name: "", price: 1 }),
          400,
          "invalid_argument",
          "name: must not be empty",
        ],
      ])("%s is %s and writes nothing", async (_, body, status, code, message) => {
        const before = await productCount(suite.database.handle.db);
        const response = await connect("CreateProduct", body);
        expect(response.status).toBe(status);
        expect(json(response)).toMatchObject({ code, message });
        expect(await productCount(suite.database.handle.db)).toBe(before);
      });

      test("a body over 4 MiB is resource_exhausted and writes nothing", async () => {
        const before = await productCount(suite.database.handle.db);
        const response = await connect(
          "CreateProduct",
          JSON.stringify({ name: "x".repeat(5 * 1024 * 1024), price: 1 }),
        );
        expect(response.status).toBe(429);
        expect(json(response)).toMatchObject({ code: "resource_exhausted" });
        expect(await productCount(suite.database.handle.db)).toBe(before);
      });

      test("an unknown method is 404 unimplemented; an unknown content type 415; a write by GET 405", async () => {
        const unknown = await connect("Nope", "{}");
        expect(unknown.status).toBe(404);
        expect(json(unknown)).toMatchObject({ code: "unimplemented" });
        expect((await connect("GetProduct", "<id/>", { "content-type": "application/xml" })).status).toBe(415);
        const query = new URLSearchParams({ encoding: "json", message: JSON.stringify({ name: "x", price: 1 }) });
        const write = await call({
          method: "GET",
          path: `${SERVICE}/CreateProduct?${query.toString()}`,
          headers: auth,
        });
        expect(write.status).toBe(405);
      });

      test("auth as for gRPC: no token 401, a token without the scope 403", async () => {
        const body = JSON.stringify({ name: "x", price: 1 });
        const anonymous = await connect("CreateProduct", body, { authorization: "" });
        expect(anonymous.status).toBe(401);
        const readOnly = await connect("CreateProduct", body, {
          authorization: `Bearer ${await testToken([SCOPES.read])}`,
        });
        expect(readOnly.status).toBe(403);
        expect(json(readOnly)).toMatchObject({
          code: "permission_denied",
          message: "the token lacks the scope products:write",
        });
      });

      test("connect-timeout-ms is the call's deadline; a malformed one is invalid_argument", async () => {
        const malformed = await connect("GetProduct", JSON.stringify({ id: UNKNOWN_ID }), {
          "connect-timeout-ms": "1.5",
        });
        expect(malformed.status).toBe(400);
        expect(json(malformed)).toMatchObject({ message: "the connect-timeout-ms header is malformed" });
        const expired = await connect("GetProduct", JSON.stringify({ id: UNKNOWN_ID }), { "connect-timeout-ms": "0" });
        expect(expired.status).toBe(504);
        expect(json(expired)).toMatchObject({ code: "deadline_exceeded" });
      });

      test("a web call has the same log line as a gRPC call", async () => {
        await connect("GetProduct", JSON.stringify({ id: UNKNOWN_ID }), { "x-request-id": "web-call-1" });
        expect(suite.server.logs.find((line) => line.requestId === "web-call-1")).toMatchObject({
          msg: "call",
          method: `${SERVICE}/GetProduct`,
          code: "NOT_FOUND",
          peer: expect.stringContaining("127.0.0.1"),
        });
      });
    });

    describe("CORS", () => {
      test("a preflight from an allowed origin is answered; from another, refused", async () => {
        const preflight = (origin: string) =>
          call({
            method: "OPTIONS",
            path: `${SERVICE}/CreateProduct`,
            headers: {
              origin,
              "access-control-request-method": "POST",
              "access-control-request-headers": "authorization, content-type, connect-protocol-version",
            },
          });
        const allowed = await preflight(ALLOWED_ORIGIN);
        expect(allowed.status).toBe(204);
        expect(allowed.headers).toMatchObject({
          "access-control-allow-origin": ALLOWED_ORIGIN,
          "access-control-allow-methods": "POST, GET",
          "access-control-allow-headers": "authorization, content-type, connect-protocol-version",
        });
        expect(allowed.headers["access-control-allow-credentials"]).toBeUndefined();
        const other = await preflight("https://elsewhere.example");
        expect(other.status).toBe(403);
        expect(other.headers["access-control-allow-origin"]).toBeUndefined();
      });

      test("a response to an allowed origin names it and exposes the status and details headers", async () => {
        const response = await call({
          path: `${SERVICE}/GetProduct`,
          headers: { ...auth, origin: ALLOWED_ORIGIN, "content-type": "application/json" },
          body: JSON.stringify({ id: UNKNOWN_ID }),
        });
        expect(response.headers["access-control-allow-origin"]).toBe(ALLOWED_ORIGIN);
        expect(response.headers["access-control-expose-headers"]).toContain("grpc-status-details-bin");
        expect(response.headers["access-control-expose-headers"]).toContain("x-request-id");
        const other = await call({
          path: `${SERVICE}/GetProduct`,
          headers: { ...auth, origin: "https://elsewhere.example", "content-type": "application/json" },
          body: JSON.stringify({ id: UNKNOWN_ID }),
        });
        expect(other.headers["access-control-allow-origin"]).toBeUndefined();
      });
    });
  });
});

describe.each(TEST_BACKENDS)("a web stream at shutdown on $name", (backend) => {
  test("ends with unavailable, as a gRPC stream does", async () => {
    const database = await backend.open();
    const server: TestServer = await startTestServer(database);
    try {
      const product = await server.client.createProduct(newProduct(1, "web-shutdown"));
      const token = await testToken();
      const response = http1Request(server.port, {
        path: `${SERVICE}/WatchPrices`,
        headers: { authorization: `Bearer ${token}`, "content-type": "application/connect+proto" },
        body: envelopeOf(WatchRequest.encode({ productIds: [product.id] }).finish()),
      });
      await until(() => server.app.priceWatch.stats().watchedIds > 0);
      await server.app.shutdown(5_000);
      const { messages, last } = unframe((await response).body, 0x02);
      expect(messages).toHaveLength(1);
      expect(JSON.parse((last as Buffer).toString())).toMatchObject({
        error: { code: "unavailable", message: "server shutting down" },
      });
    } finally {
      await server.close();
      await database.close();
    }
  });
});

describeOnPostgres("a web call cancelled by its client", (backend) => {
  test("stops its query", async () => {
    const database = await backend.open();
    const server = await startTestServer(database);
    const observer = postgres(database.url as string, { max: 2, onnotice: () => undefined });
    const token = await testToken();
    const queries = async () =>
      (
        await observer<{ n: number }[]>`
          SELECT count(*)::int AS n FROM pg_stat_activity
          WHERE datname = current_database() AND application_name = 'product-service' AND state = 'active'`
      )[0]?.n ?? 0;
    try {
      await observer.begin(async (tx) => {
        await tx`LOCK TABLE products IN ACCESS EXCLUSIVE MODE`;
        const controller = new AbortController();
        const request = fetch(`http://127.0.0.1:${server.port}${SERVICE}/ListProducts`, {
          method: "POST",
          headers: { authorization: `Bearer ${token}`, "content-type": "application/connect+json" },
          body: envelopeOf(Buffer.from("{}")),
          signal: controller.signal,
        }).then(
          (response) => response.arrayBuffer(),
          () => undefined,
        );
        await until(async () => (await queries()) > 0);
        controller.abort();
        await request;
        // Still inside the lock: the listing's query must not be waiting for it any more.
        await until(async () => (await queries()) === 0);
      });
    } finally {
      await observer.end();
      await server.close();
      await database.close();
    }
  });
});
