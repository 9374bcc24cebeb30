// Errors a program can read: every status carries google.rpc.ErrorInfo (a
// stable reason) and RequestInfo in grpc-status-details-bin, and every
// INVALID_ARGUMENT a BadRequest naming the field by its proto path, beside
// the same human message as before. Read here by the typed client and by a
// plain grpc-js client that decodes the trailer itself.
import { randomUUID } from "node:crypto";
import { credentials, Client, Metadata, type ServiceError } from "@grpc/grpc-js";
import { BadRequest, ErrorInfo, RequestInfo } from "nice-grpc-error-details";
import { Status } from "nice-grpc-common";
import { CreateProductRequest, GetProductRequest, Product } from "../../gen/product/v1/product";
import { createProductClient, ProductClientError, type ProductClient } from "../../src/client";
import { decodeRpcStatus } from "../../src/transport/rpc-status";
import { TEST_BACKENDS } from "../support/database";
import { newProduct, streamOf, UNKNOWN_ID } from "../support/products";
import { serveForSuite, testToken } from "../support/server";

async function clientError(call: Promise<unknown>): Promise<ProductClientError> {
  const error = await call.then(
    () => undefined,
    (thrown: unknown) => thrown,
  );
  if (!(error instanceof ProductClientError)) throw new Error(`expected a ProductClientError, got ${String(error)}`);
  return error;
}

/** A unary call by plain grpc-js, resolving to the ServiceError it failed with. */
function rawUnaryError(address: string, token: string, method: string, request: Uint8Array): Promise<ServiceError> {
  const client = new Client(address, credentials.createInsecure());
  const metadata = new Metadata();
  metadata.set("authorization", `Bearer ${token}`);
  return new Promise((resolve, reject) => {
    client.makeUnaryRequest(
      `/product.v1.ProductService/${method}`,
      (bytes: Uint8Array) => Buffer.from(bytes),
      (bytes: Buffer) => Product.decode(bytes),
      request,
      metadata,
      (error) => {
        client.close();
        if (error === null) reject(new Error("expected the call to fail"));
        else resolve(error);
      },
    );
  });
}

/** google.rpc.Status from the trailer, its details decoded by type URL. */
function decodeStatusDetails(error: ServiceError) {
  const [bytes] = error.metadata.get("grpc-status-details-bin");
  if (!(bytes instanceof Buffer)) throw new Error("no grpc-status-details-bin trailer");
  const status = decodeRpcStatus(bytes);
  const of = (typeName: string) =>
    status.details.filter((any) => any.typeUrl === `type.googleapis.com/${typeName}`).map((any) => any.value);
  return {
    status,
    errorInfo: of("google.rpc.ErrorInfo").map((value) => ErrorInfo.decode(value)),
    badRequest: of("google.rpc.BadRequest").map((value) => BadRequest.decode(value)),
    requestInfo: of("google.rpc.RequestInfo").map((value) => RequestInfo.decode(value)),
  };
}

describe.each(TEST_BACKENDS)("error details on $name", (backend) => {
  const suite = serveForSuite(backend);
  let products: ProductClient;
  beforeAll(async () => {
    products = createProductClient({
      address: suite.server.address,
      insecure: true,
      token: await testToken(),
      retry: false,
    });
  });
  afterAll(() => products.close());

  test("a batch item at fault is named by its proto path, with the reason, in the typed client", async () => {
    const items = Array.from({ length: 600 }, (_, i) => newProduct(i, "details-batch"));
    items[499] = { ...items[499]!, price: -1 };
    const error = await clientError(products.batchCreateProducts(streamOf(items)));
    expect(error.code).toBe(Status.INVALID_ARGUMENT);
    expect(error.details).toBe("items[499].price: must not be negative");
    expect(error.reason).toBe("INVALID_FIELD");
    expect(error.domain).toBe("product.v1");
    expect(error.fieldViolations).toEqual([{ field: "items[499].price", description: "must not be negative" }]);
  });

  test("NOT_FOUND, a reused key and a missing scope each carry their reason", async () => {
    const missing = await clientError(products.updatePrice({ id: UNKNOWN_ID, price: 1 }));
    expect([missing.code, missing.reason, missing.fieldViolations]).toEqual([
      Status.NOT_FOUND,
      "PRODUCT_NOT_FOUND",
      [],
    ]);

    const requestId = randomUUID();
    await products.createProduct({ ...newProduct(1, "details-key"), requestId });
    const reused = await clientError(products.createProduct({ ...newProduct(2, "details-key"), requestId }));
    expect([reused.code, reused.reason]).toEqual([Status.INVALID_ARGUMENT, "REQUEST_ID_REUSED"]);
    expect(reused.fieldViolations.map((violation) => violation.field)).toEqual(["request_id"]);

    const reader = createProductClient({
      address: suite.server.address,
      insecure: true,
      token: await testToken(["products:read"]),
    });
    try {
      const denied = await clientError(reader.createProduct(newProduct(3, "details-scope")));
      expect([denied.code, denied.reason, denied.errorMetadata]).toEqual([
        Status.PERMISSION_DENIED,
        "SCOPE_MISSING",
        { scope: "products:write" },
      ]);
    } finally {
      reader.close();
    }
  });

  test("a plain grpc-js client decodes the same details from grpc-status-details-bin", async () => {
    const token = await testToken();
    const invalid = await rawUnaryError(
      suite.server.address,
      token,
      "CreateProduct",
      CreateProductRequest.encode(CreateProductRequest.fromPartial({ name: "", price: 1 })).finish(),
    );
    expect([invalid.code, invalid.details]).toEqual([Status.INVALID_ARGUMENT, "name: must not be empty"]);
    const decoded = decodeStatusDetails(invalid);
    expect([decoded.status.code, decoded.status.message]).toEqual([Status.INVALID_ARGUMENT, "name: must not be empty"]);
    expect(decoded.errorInfo).toEqual([expect.objectContaining({ reason: "INVALID_FIELD", domain: "product.v1" })]);
    expect(decoded.badRequest[0]?.fieldViolations).toEqual([
      expect.objectContaining({ field: "name", description: "must not be empty" }),
    ]);
    // The request id the server logged, for the caller's report.
    const requestId = decoded.requestInfo[0]?.requestId;
    expect(suite.server.logs.some((line) => line.requestId === requestId && line.code === "INVALID_ARGUMENT")).toBe(
      true,
    );

    const notFound = decodeStatusDetails(
      await rawUnaryError(
        suite.server.address,
        token,
        "GetProduct",
        GetProductRequest.encode({ id: UNKNOWN_ID }).finish(),
      ),
    );
    expect(notFound.errorInfo[0]?.reason).toBe("PRODUCT_NOT_FOUND");
    expect(notFound.badRequest).toEqual([]);
  });

  test("UNAUTHENTICATED carries its reason too, and never the token", async () => {
    const error = await rawUnaryError(
      suite.server.address,
      "not-a-token",
      "GetProduct",
      GetProductRequest.encode({ id: UNKNOWN_ID }).finish(),
    );
    expect(error.code).toBe(Status.UNAUTHENTICATED);
    const decoded = decodeStatusDetails(error);
    expect(decoded.errorInfo[0]?.reason).toBe("TOKEN_REQUIRED");
    const [trailer] = error.metadata.get("grpc-status-details-bin");
    expect(Buffer.from(trailer as Buffer).toString("latin1")).not.toContain("not-a-token");
  });
});
