// Ordinary tools call the service over the web protocols: `buf curl` with
// --protocol connect and grpcweb (describing the service by reflection over
// the same protocol, or from the local proto over HTTP/1.1), and plain curl
// with JSON.
import { execFile } from "node:child_process";
import { BUF, PROJECT_ROOT, runCommand } from "../support/commands";
import { newProduct } from "../support/products";
import { serveForSuite, testToken } from "../support/server";
import { TEST_BACKENDS } from "../support/database";

const SERVICE = "product.v1.ProductService";

function curl(args: readonly string[]): Promise<{ code: number; stdout: string }> {
  return new Promise((resolve) => {
    execFile("curl", ["--silent", "--show-error", ...args], { timeout: 30_000 }, (error, stdout) => {
      resolve({ code: error === null ? 0 : typeof error.code === "number" ? error.code : 1, stdout });
    });
  });
}

describe.each(TEST_BACKENDS)("web clients on $name", (backend) => {
  const suite = serveForSuite(backend);
  let token: string;
  beforeAll(async () => {
    token = await testToken();
  });
  const url = (method: string) => `http://${suite.server.address}/${SERVICE}/${method}`;

  test.each(["connect", "grpcweb"])(
    "buf curl --protocol %s calls the service, reflection included",
    async (protocol) => {
      const created = await runCommand(
        BUF,
        [
          "curl",
          "--protocol",
          protocol,
          "--http2-prior-knowledge",
          "-H",
          `Authorization: Bearer ${token}`,
          "-d",
          JSON.stringify({ name: `made by ${protocol}`, price: 2.5, category_id: "buf-curl" }),
          url("CreateProduct"),
        ],
        PROJECT_ROOT,
      );
      expect(created.code).toBe(0);
      expect(JSON.parse(created.output)).toMatchObject({
        name: `made by ${protocol}`,
        price: 2.5,
        category: "buf-curl",
      });
    },
  );

  test("buf curl --protocol connect over HTTP/1.1 streams ListProducts, the schema from proto/", async () => {
    for (let i = 0; i < 2; i += 1) await suite.server.client.createProduct(newProduct(i, "buf-curl-list"));
    const listed = await runCommand(
      BUF,
      [
        "curl",
        "--protocol",
        "connect",
        "--schema",
        "proto",
        "-H",
        `Authorization: Bearer ${token}`,
        "-d",
        JSON.stringify({ category: "buf-curl-list" }),
        url("ListProducts"),
      ],
      PROJECT_ROOT,
    );
    expect(listed.code).toBe(0);
    expect(listed.output.match(/"name": "product \d"/g)).toEqual(['"name": "product 0"', '"name": "product 1"']);
  });

  test("curl posts JSON and reads JSON", async () => {
    const created = await suite.server.client.createProduct(newProduct(7, "curl"));
    const response = await curl([
      "-H",
      "content-type: application/json",
      "-H",
      `authorization: Bearer ${token}`,
      "-d",
      JSON.stringify({ id: created.id }),
      url("GetProduct"),
    ]);
    expect(response.code).toBe(0);
    expect(JSON.parse(response.stdout)).toMatchObject({ id: created.id, name: "product 7", category: "curl" });
  });
});
