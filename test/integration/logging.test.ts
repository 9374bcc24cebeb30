// One log line per call, with what an operator needs and nothing secret.
import { Metadata } from "nice-grpc";
import { TEST_BACKENDS } from "../support/database";
import { collect, newProduct, streamOf } from "../support/products";
import { serveForSuite, testToken } from "../support/server";

describe.each(TEST_BACKENDS)("call logs on $name", (backend) => {
  const suite = serveForSuite(backend);

  test("a call's line has method, code, duration, peer and the request id the client sent; never the token", async () => {
    const token = await testToken();
    let responseRequestId: string | undefined;
    const created = await suite.server.client.createProduct(newProduct(1), {
      metadata: Metadata({ "x-request-id": "req-from-caller-42", authorization: `Bearer ${token}` }),
      onHeader: (header) => (responseRequestId = header.get("x-request-id")),
    });
    expect(responseRequestId).toBe("req-from-caller-42");
    const line = suite.server.logs.find((entry) => entry.requestId === "req-from-caller-42");
    expect(line).toMatchObject({
      msg: "call",
      method: "/product.v1.ProductService/CreateProduct",
      code: "OK",
      peer: expect.stringContaining("127.0.0.1"),
    });
    expect(typeof line?.durationMs).toBe("number");
    const everything = JSON.stringify(suite.server.logs);
    expect(everything).not.toContain(token);
    expect(everything).not.toContain(created.name); // no message bodies
  });

  test.each([
    ["too long", "r".repeat(129)],
    ["odd characters", "a b;c"],
  ])("a request id that is %s is replaced by a fresh one", async (_, sent) => {
    let responseRequestId: string | undefined;
    const metadata = Metadata({ "x-request-id": sent, authorization: `Bearer ${await testToken()}` });
    await suite.server.client
      .getProduct({ id: "bad" }, { metadata, onHeader: (h) => (responseRequestId = h.get("x-request-id")) })
      .catch(() => undefined);
    expect(responseRequestId).toMatch(/^[0-9a-f-]{36}$/);
    expect(suite.server.logs.find((entry) => entry.requestId === responseRequestId)).toMatchObject({
      code: "INVALID_ARGUMENT",
    });
  });

  test("stream lines count the messages each way", async () => {
    const authorization = `Bearer ${await testToken()}`;
    await suite.server.client.batchCreateProducts(streamOf([newProduct(1, "logged"), newProduct(2, "logged")]), {
      metadata: Metadata({ "x-request-id": "batch-1", authorization }),
    });
    await collect(
      suite.server.client.listProducts(
        { category: "logged", pageSize: 0, pageToken: "" },
        { metadata: Metadata({ "x-request-id": "list-1", authorization }) },
      ),
    );
    expect(suite.server.logs.find((entry) => entry.requestId === "batch-1")).toMatchObject({ code: "OK", received: 2 });
    expect(suite.server.logs.find((entry) => entry.requestId === "list-1")).toMatchObject({ code: "OK", sent: 2 });
  });
});
