// A client in its own process that streams products to BatchCreateProducts
// and says "sent" on stdout once the last one is out. Then, with "stall", it
// neither half-closes nor cancels; with "half-close", it half-closes and waits
// for the answer. Either way the test ends it as a crashed caller ends, by
// killing the process.
// Usage: TOKEN=... stalling-batch-client.ts <address> <count> <category> <stall|half-close>
import { createChannel, createClient, Metadata } from "nice-grpc";
import { ProductServiceDefinition, type CreateProductRequest } from "../../../gen/product/v1/product";

const [address, count, category, mode] = process.argv.slice(2) as [string, string, string, string];
const client = createClient(ProductServiceDefinition, createChannel(address), {
  "*": { metadata: Metadata({ authorization: `Bearer ${process.env.TOKEN ?? ""}` }) },
});

async function* items(): AsyncGenerator<CreateProductRequest> {
  for (let i = 0; i < Number(count); i += 1)
    yield { name: `stalled ${i}`, price: 1, categoryId: category, tags: [], requestId: "" };
  process.stdout.write("sent\n");
  if (mode === "stall") await new Promise(() => undefined);
}

client.batchCreateProducts(items()).then(
  () => process.stdout.write("completed\n"),
  (error: Error) => process.stdout.write(`${error.message}\n`),
);
