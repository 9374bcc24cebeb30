// Reflection driven by the real `buf curl` binary against a running server:
// it lists the methods and calls GetProduct in JSON with a token, knowing the
// schema only from reflection. Old grpcurl builds speak v1alpha: it answers too.
import { createClient } from "nice-grpc";
import { BinaryWriter, WireType } from "@bufbuild/protobuf/wire";
import { ServerReflectionService } from "nice-grpc-server-reflection";
import { BUF, PROJECT_ROOT, runCommand } from "../support/commands";
import { TEST_BACKENDS, type TestDatabase } from "../support/database";
import { newProduct } from "../support/products";
import { startTestServer, testToken, type TestServer } from "../support/server";
import { ServerReflectionV1AlphaService } from "../../src/services/reflection";

let database: TestDatabase;
let server: TestServer;
beforeAll(async () => {
  database = await TEST_BACKENDS[0]!.open();
  server = await startTestServer(database);
});
afterAll(async () => {
  await server.close();
  await database.close();
});

const bufCurl = (...args: string[]) =>
  runCommand(BUF, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], PROJECT_ROOT);

test("buf curl --list-methods lists every method the server serves, health included", async () => {
  const result = await bufCurl("--list-methods", `http://${server.address}`);
  expect(result.code).toBe(0);
  expect(result.output.trim().split("\n").sort()).toEqual([
    "grpc.health.v1.Health/Check",
    "grpc.health.v1.Health/Watch",
    ...[
      "BatchCreateProducts",
      "CreateProduct",
      "DeleteProduct",
      "GetProduct",
      "ListProducts",
      "UpdatePrice",
      "WatchPrices",
    ].map((m) => `product.v1.ProductService/${m}`),
  ]);
});

test("buf curl calls health with no token and no local proto, knowing it only from reflection", async () => {
  const result = await bufCurl(
    "-d",
    JSON.stringify({ service: "product.v1.ProductService" }),
    `http://${server.address}/grpc.health.v1.Health/Check`,
  );
  expect(result.code).toBe(0);
  expect(JSON.parse(result.output)).toEqual({ status: "SERVING" });
});

test("buf curl calls GetProduct in JSON with a token", async () => {
  const created = await server.client.createProduct(newProduct(7));
  const result = await bufCurl(
    "-H",
    `Authorization: Bearer ${await testToken()}`,
    "-d",
    JSON.stringify({ id: created.id }),
    `http://${server.address}/product.v1.ProductService/GetProduct`,
  );
  expect(result.code).toBe(0);
  expect(JSON.parse(result.output)).toMatchObject({
    id: created.id,
    name: created.name,
    price: created.price,
    inStock: true,
  });
});

test("buf curl without a token is refused", async () => {
  const result = await bufCurl("-d", "{}", `http://${server.address}/product.v1.ProductService/GetProduct`);
  expect(result.code).not.toBe(0);
  expect(result.output).toContain("unauthenticated");
});

test("v1alpha answers like v1", async () => {
  const ask = async (definition: object) => {
    const client = createClient(definition as never, server.channel) as unknown as {
      serverReflectionInfo(
        requests: AsyncIterable<unknown>,
      ): AsyncIterable<{ getListServicesResponse(): { getServiceList(): { getName(): string }[] } }>;
    };
    // ServerReflectionRequest { list_services = 7: "*" }, read by the service definition's own deserializer.
    const request = ServerReflectionService.serverReflectionInfo.requestDeserialize(
      Buffer.from(new BinaryWriter().tag(7, WireType.LengthDelimited).string("*").finish()),
    );
    for await (const response of client.serverReflectionInfo(
      (async function* () {
        yield request;
      })(),
    )) {
      return response
        .getListServicesResponse()
        .getServiceList()
        .map((service) => service.getName());
    }
    return [];
  };
  expect(await ask(ServerReflectionV1AlphaService)).toEqual(await ask(ServerReflectionService));
  expect((await ask(ServerReflectionV1AlphaService)).sort()).toEqual([
    "grpc.health.v1.Health",
    "product.v1.ProductService",
  ]);
});
