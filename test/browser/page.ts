// The browser test's page: ProductService called from a page of another
// origin with @connectrpc/connect-web, over the Connect protocol and
// gRPC-Web, as a web application built on the project's proto would call it.
// bundle.ts builds it with code protoc-gen-es generates from proto/ (so the
// project's type check leaves this file out: esbuild compiles it against that code).
import { Code, ConnectError, createClient, type Transport } from "@connectrpc/connect";
import { createConnectTransport, createGrpcWebTransport } from "@connectrpc/connect-web";
import { ProductService } from "@gen/product/v1/product_pb";
import { BadRequestSchema } from "@gen/google/rpc/error_details_pb";

interface Run {
  readonly baseUrl: string;
  readonly token: string;
  readonly readOnlyToken: string;
  readonly protocol: "connect" | "grpcweb";
}

async function run({ baseUrl, token, readOnlyToken, protocol }: Run) {
  const transport: Transport =
    protocol === "connect" ? createConnectTransport({ baseUrl }) : createGrpcWebTransport({ baseUrl });
  const products = createClient(ProductService, transport);
  const as = (bearer: string) => ({ headers: { authorization: `Bearer ${bearer}` } });
  const category = `browser-${protocol}`;

  const created = await products.createProduct(
    { name: "Teapot", price: 19.5, categoryId: category, tags: ["ceramic"] },
    as(token),
  );
  const read = await products.getProduct({ id: created.id }, as(token));
  await products.createProduct({ name: "Teacup", price: 4, categoryId: category, tags: [] }, as(token));
  await products.createProduct({ name: "Saucer", price: 2, categoryId: category, tags: [] }, as(token));

  let nextPageToken: string | null = null;
  const page: string[] = [];
  for await (const product of products.listProducts(
    { category, pageSize: 2 },
    { ...as(token), onTrailer: (trailer) => (nextPageToken = trailer.get("next-page-token")) },
  ))
    page.push(product.name);

  const denied = await products.createProduct({ name: "Cup", price: 1, categoryId: category }, as(readOnlyToken)).then(
    () => "allowed",
    (error: unknown) => Code[ConnectError.from(error).code],
  );
  const invalid = await products.createProduct({ name: "", price: -1, categoryId: category }, as(token)).then(
    () => undefined,
    (error: unknown) => {
      const failure = ConnectError.from(error);
      const violations = failure.findDetails(BadRequestSchema).flatMap((detail) => detail.fieldViolations);
      return {
        code: Code[failure.code],
        message: failure.rawMessage,
        fields: violations.map((violation) => `${violation.field}: ${violation.description}`),
      };
    },
  );
  return {
    created: { name: created.name, price: created.price, category: created.category },
    readBack: read.id === created.id && read.name === created.name,
    page,
    nextPageToken,
    denied,
    invalid,
  };
}

(globalThis as unknown as { runProductCalls: typeof run }).runProductCalls = run;
