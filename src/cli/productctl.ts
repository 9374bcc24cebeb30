#!/usr/bin/env node
// productctl: ProductService from the command line, for operators, and the
// reference of a service calling another through src/client.
//
//   productctl [--address host:port] [--insecure] [--ca file] [--token t] <command> ...
//
// Results are JSON, one object per line; a failure prints its status code
// and message on stderr and exits 1.
import { randomUUID } from "node:crypto";
import { createReadStream, readFileSync } from "node:fs";
import readline from "node:readline";
import { parseArgs } from "node:util";
import {
  createProductClient,
  ProductClientError,
  Status,
  type CreateProductRequest,
  type ProductClient,
} from "../client";

const USAGE = `usage: productctl [options] <command>

commands:
  get <id>
  list [--category C] [--page-size N] [--page-token T]
  create --name N --price P [--category C] [--tag T ...]
  delete <id>
  update-price <id> <price>
  watch <id> [<id> ...]                 prints price updates until interrupted
  batch-create <file.jsonl>             one {"name","price","category_id","tags"} per line

options:
  --address host:port   default $PRODUCT_SERVICE_ADDRESS or 127.0.0.1:50051
  --insecure            plaintext (default when the address is on loopback)
  --ca FILE             CA certificate to trust (TLS)
  --token T             bearer token, default $PRODUCT_SERVICE_TOKEN
  --deadline-ms N       deadline of each call (default 5000)
  --request-id UUID     idempotency key of a write (create, delete, update-price,
                        batch-create); default a new one. A write that failed with
                        UNAVAILABLE or DEADLINE_EXCEEDED may have been applied:
                        run it again with the key it printed to apply it at most once.
`;

const print = (value: unknown): void => void process.stdout.write(`${JSON.stringify(value)}\n`);

async function* readJsonLines(file: string): AsyncGenerator<CreateProductRequest> {
  let line = 0;
  for await (const text of readline.createInterface({ input: createReadStream(file) })) {
    line += 1;
    if (text.trim() === "") continue;
    let parsed: Partial<CreateProductRequest> & { category_id?: string };
    try {
      parsed = JSON.parse(text) as typeof parsed;
    } catch {
      throw new Error(`${file}:${line}: not JSON`);
    }
    yield {
      name: parsed.name ?? "",
      price: parsed.price ?? 0,
      categoryId: parsed.categoryId ?? parsed.category_id ?? "",
      tags: parsed.tags ?? [],
      requestId: "",
    };
  }
}

/** The key of the write being sent, reported when its outcome is unknown. */
let writeRequestId: string | undefined;

/** Sets the key of the first item, which names the whole batch. */
async function* keyedBatch(
  items: AsyncIterable<CreateProductRequest>,
  requestId: string,
): AsyncGenerator<CreateProductRequest> {
  let first = true;
  for await (const item of items) {
    yield first ? { ...item, requestId } : item;
    first = false;
  }
}

async function run(
  client: ProductClient,
  command: string,
  args: string[],
  values: Record<string, unknown>,
): Promise<void> {
  const requestId = () => (writeRequestId = (values["request-id"] as string | undefined) ?? randomUUID());
  const need = (index: number, name: string) => {
    const value = args[index];
    if (value === undefined) throw new Error(`${command}: missing ${name}\n\n${USAGE}`);
    return value;
  };
  switch (command) {
    case "get": {
      const product = await client.getProduct(need(0, "<id>"));
      if (product === null) throw new Error(`NOT_FOUND: product ${args[0]} not found`);
      return print(product);
    }
    case "list": {
      let next: string | undefined;
      const request = {
        category: values.category as string | undefined,
        pageSize: Number(values["page-size"] ?? 0),
        pageToken: (values["page-token"] as string | undefined) ?? "",
      };
      for await (const product of client.listProducts(request, {
        onTrailer: (trailer) => (next = trailer.get("next-page-token")),
      }))
        print(product);
      if (next !== undefined) process.stderr.write(`next page: --page-token ${next}\n`);
      return;
    }
    case "create":
      return print(
        await client.createProduct({
          name: (values.name as string | undefined) ?? "",
          price: Number(values.price),
          categoryId: (values.category as string | undefined) ?? "",
          tags: (values.tag as string[] | undefined) ?? [],
          requestId: requestId(),
        }),
      );
    case "delete":
      await client.deleteProduct({ id: need(0, "<id>"), requestId: requestId() });
      return print({ deleted: args[0] });
    case "update-price":
      return print(
        (await client.updatePrice({ id: need(0, "<id>"), price: Number(need(1, "<price>")), requestId: requestId() }))
          .product,
      );
    case "watch": {
      need(0, "<id>");
      const controller = new AbortController();
      process.once("SIGINT", () => controller.abort());
      async function* requests() {
        yield { productIds: args };
        await new Promise((resolve) => controller.signal.addEventListener("abort", resolve));
      }
      try {
        for await (const update of client.watchPrices(requests(), { signal: controller.signal })) print(update);
      } catch (error) {
        if (!controller.signal.aborted) throw error;
      }
      return;
    }
    case "batch-create": {
      const { createdCount } = await client.batchCreateProducts(
        keyedBatch(readJsonLines(need(0, "<file.jsonl>")), requestId()),
      );
      return print({ createdCount });
    }
    default:
      throw new Error(`unknown command "${command}"\n\n${USAGE}`);
  }
}

async function main(): Promise<void> {
  const { values, positionals } = parseArgs({
    allowPositionals: true,
    options: {
      address: { type: "string" },
      insecure: { type: "boolean" },
      ca: { type: "string" },
      token: { type: "string" },
      "deadline-ms": { type: "string" },
      category: { type: "string" },
      "page-size": { type: "string" },
      "page-token": { type: "string" },
      name: { type: "string" },
      price: { type: "string" },
      tag: { type: "string", multiple: true },
      "request-id": { type: "string" },
      help: { type: "boolean", short: "h" },
    },
  });
  const [command, ...args] = positionals;
  if (values.help === true || command === undefined) {
    process.stdout.write(USAGE);
    return;
  }
  const address = values.address ?? process.env.PRODUCT_SERVICE_ADDRESS ?? "127.0.0.1:50051";
  const loopback = /^(127\.|localhost:|\[::1\]:)/.test(address);
  const client = createProductClient({
    address,
    ...(values.insecure === true || (loopback && values.ca === undefined)
      ? { insecure: true }
      : { tls: { ca: values.ca === undefined ? undefined : readFileSync(values.ca) } }),
    token: values.token ?? process.env.PRODUCT_SERVICE_TOKEN,
    defaultDeadlineMs: values["deadline-ms"] === undefined ? 5_000 : Number(values["deadline-ms"]),
  });
  try {
    await run(client, command, args, values);
  } finally {
    client.close();
  }
}

main().catch((error: unknown) => {
  const message =
    error instanceof ProductClientError
      ? `${error.codeName}: ${error.details}`
      : error instanceof Error
        ? error.message
        : String(error);
  process.stderr.write(`${message}\n`);
  const outcomeUnknown =
    error instanceof ProductClientError &&
    (error.code === Status.UNAVAILABLE || error.code === Status.DEADLINE_EXCEEDED);
  if (outcomeUnknown && writeRequestId !== undefined) {
    process.stderr.write(
      `the write may have been applied: retry it with --request-id ${writeRequestId} to apply it at most once\n`,
    );
  }
  process.exit(1);
});
