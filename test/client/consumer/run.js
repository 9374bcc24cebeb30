// A consumer that runs: plain CommonJS requiring the installed package's
// client entry, as another service's compiled code would. It calls the
// server at argv[2] and prints what it saw, and which packages the client
// loaded (a client must not load the server's database or logging stack).
const { createProductClient, ProductClientError, Status } = require("product-service/client");

async function main() {
  const [address, token] = process.argv.slice(2);
  const products = createProductClient({ address, insecure: true, token });
  try {
    const created = await products.createProduct({ name: "Packed mug", price: 3, categoryId: "packed", tags: [] });
    const found = await products.getProduct(created.id);
    const missing = await products.getProduct("00000000-0000-4000-8000-000000000000");
    let invalid;
    try {
      await products.createProduct({ name: "", price: 1 });
    } catch (error) {
      invalid =
        error instanceof ProductClientError
          ? { code: Status[error.code], reason: error.reason, fields: error.fieldViolations.map((v) => v.field) }
          : String(error);
    }
    const packages = new Set(
      Object.keys(require.cache)
        .map((file) => /node_modules\/((@[^/]+\/)?[^/]+)/.exec(file)?.[1])
        .filter((name) => name !== undefined),
    );
    console.log(JSON.stringify({ found: found && found.name, missing, invalid, packages: [...packages].sort() }));
  } finally {
    products.close();
  }
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
