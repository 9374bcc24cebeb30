// ProductService: the contract's RPCs over the repository. This layer maps
// proto messages to domain values and back, validates input, and raises
// domain errors; src/middleware/errors.ts turns those into status codes.
import type { CallContext } from "nice-grpc-common";
import { Empty } from "../../gen/google/protobuf/empty";
import {
  BatchCreateResponse,
  CreateProductRequest,
  DeleteProductRequest,
  Product,
  ProductServiceDefinition,
  UpdatePriceRequest,
  UpdatePriceResponse,
  type MessageFns,
  type PriceUpdate,
} from "../../gen/product/v1/product";
import { InvalidMessageError } from "../shared/invalid-message";
import { EncodedMessage, MessageBatch } from "../shared/messages";
import type { ScopeContext } from "../shared/request-scope";
import type { ServiceHandlers } from "../shared/service-handlers";
import { InvalidArgumentError, NotFoundError, Reason } from "../shared/errors";
import type { CallConnection } from "../db/client";
import type { AnswerCodec, WriteRunner } from "../repos/idempotency-repo";
import type { ProductRepo, ProductRow } from "../repos/product-repo";
import { checkBatchItemRequestId, checkRequestId, keyOf, RequestDigest } from "./request-id";
import type { PageTokenCodec } from "./page-token";
import type { PriceChange, PriceWatchHub } from "./price-watch-hub";
import { checkId, checkPrice, checkProductInput, type ProductInput } from "./validation";

/** The trailing-metadata key that carries ListProducts' continuation token. */
export const NEXT_PAGE_TOKEN_KEY = "next-page-token";

export interface ProductServiceLimits {
  /** Most items one BatchCreateProducts stream may carry. */
  readonly batchMaxItems: number;
  /** Most distinct ids one WatchPrices stream may watch. */
  readonly watchMaxIds: number;
  /** Largest encoded BatchCreateResponse: the message size clients accept (default 4 MiB, gRPC's default). */
  readonly batchMaxResponseBytes?: number;
}

export interface ProductServiceDeps {
  readonly products: ProductRepo;
  /** Runs writes, once per idempotency key. */
  readonly writes: WriteRunner;
  readonly priceWatch: PriceWatchHub;
  readonly pageTokens: PageTokenCodec;
  readonly limits: ProductServiceLimits;
  readonly clock?: () => Date;
}

export function toProduct(row: ProductRow): Product {
  return {
    id: row.id,
    name: row.name,
    price: row.price,
    category: row.category,
    inStock: row.inStock,
    createdAt: row.createdAt,
    tags: row.tags,
  };
}

function toPriceUpdate(change: PriceChange): PriceUpdate {
  return { productId: change.id, newPrice: change.price, updatedAt: change.updatedAt };
}

function toProductInput(request: CreateProductRequest): ProductInput {
  return { name: request.name, price: request.price, category: request.categoryId, tags: request.tags };
}

function notFound(id: string): NotFoundError {
  return new NotFoundError(`product ${id} not found`);
}

/** The largest message a gRPC client receives unless configured otherwise. */
export const DEFAULT_MAX_MESSAGE_BYTES = 4 * 1024 * 1024;

/** A proto message type as a codec for stored answers. */
function codecOf<T>(type: MessageFns<T>): AnswerCodec<T> {
  return { encode: (answer) => type.encode(answer).finish(), decode: (bytes) => type.decode(bytes) };
}

const productCodec = codecOf(Product);
const emptyCodec = codecOf(Empty);
const updatePriceCodec = codecOf(UpdatePriceResponse);

/** As codecOf, remembering the last encoding: a batch's response is encoded to check its size, then stored. */
function encodedOnce<T>(type: MessageFns<T>) {
  let last: { answer: T; bytes: Uint8Array } | undefined;
  return {
    encode(answer: T): Uint8Array {
      if (last?.answer !== answer) last = { answer, bytes: type.encode(answer).finish() };
      return last.bytes;
    },
    decode: (bytes: Uint8Array) => type.decode(bytes),
  };
}

/**
 * A batch's response must fit in one message a client will take (4 MiB by
 * default everywhere): a committed batch its client cannot receive looks like
 * a failure, and its retry would write everything again.
 */
function checkResponseSize(bytes: number, count: number, maxBytes: number): void {
  if (bytes <= maxBytes) return;
  const fits = Math.max(1, Math.floor((count * maxBytes) / bytes));
  throw new InvalidArgumentError(
    "items",
    `the response to ${count} products would be ${bytes} bytes, over the ${maxBytes}-byte message limit; nothing was written: send at most ${fits} such products per batch`,
    Reason.BATCH_RESPONSE_TOO_LARGE,
  );
}

/** What every handler is given: nice-grpc's context, and its call's scope (signal, deadline, request id). */
type Context = CallContext & ScopeContext;

/**
 * A batch's items, each named by its index: a message the transport could
 * not read is refused as `items[<index>].<field>`, as any invalid item is.
 */
async function* batchItems<T>(requests: AsyncIterable<T>): AsyncGenerator<T, void, undefined> {
  try {
    yield* requests;
  } catch (error) {
    if (!(error instanceof InvalidMessageError)) throw error;
    const field = error.field === undefined ? "" : `.${error.field}`;
    throw new InvalidArgumentError(`items[${error.index}]${field}`, error.description);
  }
}

export function createProductService(deps: ProductServiceDeps) {
  const { products, writes, priceWatch, pageTokens, limits } = deps;
  const clock = deps.clock ?? (() => new Date());

  return {
    async getProduct(request, { scope }: Context) {
      // Validated before it joins a coalesced read, so it can never fail other callers' reads.
      const id = checkId("id", request.id);
      const row = await products.getById(id, scope);
      if (row === undefined) throw notFound(id);
      return toProduct(row);
    },

    // Writes hold back DEADLINE_EXCEEDED (RequestScope.holdDeadlineFor): the
    // answer is what the store did. With a request_id they run once per key
    // (idempotency-repo.ts).
    async createProduct(request, { scope }: Context) {
      const input = checkProductInput(toProductInput(request));
      const key = keyOf("CreateProduct", request.requestId, () =>
        CreateProductRequest.encode({ ...request, requestId: "" }).finish(),
      );
      // Without a key, creates in flight at the same time share one statement (product-repo.ts).
      if (key === undefined)
        return scope.holdDeadlineFor(async () => toProduct(await products.createCoalesced(input, scope)));
      return scope.holdDeadlineFor(() =>
        writes.run(scope, key, productCodec, async (connection) => toProduct(await products.create(input, connection))),
      );
    },

    async deleteProduct(request, { scope }: Context) {
      const id = checkId("id", request.id);
      const key = keyOf("DeleteProduct", request.requestId, () =>
        DeleteProductRequest.encode({ ...request, requestId: "" }).finish(),
      );
      return scope.holdDeadlineFor(() =>
        writes.run(scope, key, emptyCodec, async (connection) => {
          if (!(await products.deleteById(id, connection))) throw notFound(id);
          return {};
        }),
      );
    },

    async *listProducts(request, context: Context) {
      if (request.pageSize < 0) throw new InvalidArgumentError("page_size", "must not be negative");
      const filter = { category: request.category };
      const after = request.pageToken === "" ? undefined : pageTokens.decode(request.pageToken, filter);
      const pageSize = request.pageSize === 0 ? undefined : request.pageSize;

      // One row past the page tells whether more remain, without a count query.
      const limit = pageSize === undefined ? undefined : pageSize + 1;
      let sent = 0;
      let last: ProductRow | undefined;
      for await (const batch of products.listInBatches({ category: filter.category, after, limit }, context.scope)) {
        const rows = pageSize === undefined ? batch : batch.slice(0, pageSize - sent);
        // The rows of one query go out as one batch (src/shared/messages.ts):
        // the transport writes them one by one, waiting whenever the client is behind.
        // A row has every field of a Product under the same names (toProduct),
        // so each is encoded as it is, with no copy of it made.
        if (rows.length > 0) yield new MessageBatch<Product>(rows, Product);
        sent += rows.length;
        last = rows[rows.length - 1] ?? last;
        if (rows.length < batch.length) {
          context.trailer.set(NEXT_PAGE_TOKEN_KEY, pageTokens.encode(last as ProductRow, filter));
          return;
        }
      }
    },

    async batchCreateProducts(requests, { scope }: Context) {
      const items: ProductInput[] = [];
      let requestId: string | undefined;
      let digest: RequestDigest | undefined;
      for await (const request of batchItems(requests)) {
        const index = items.length;
        if (index === limits.batchMaxItems) {
          throw new InvalidArgumentError(
            "items",
            `a batch may create at most ${limits.batchMaxItems} products; nothing was written`,
            Reason.BATCH_TOO_LARGE,
          );
        }
        const prefix = `items[${index}].`;
        if (index === 0) requestId = checkRequestId(request.requestId, `${prefix}request_id`);
        else checkBatchItemRequestId(requestId, request.requestId, index);
        items.push(checkProductInput(toProductInput(request), prefix));
        if (requestId !== undefined) {
          digest ??= new RequestDigest("BatchCreateProducts");
          digest.add(CreateProductRequest.encode({ ...request, requestId: "" }).finish());
        }
      }
      const key = requestId === undefined ? undefined : (digest as RequestDigest).keyed(requestId);
      // Nothing is written until the client half-closes, so a stream that
      // is cancelled, times out or loses its client before that leaves
      // nothing behind; a cancel during the insert rolls the transaction back,
      // and so does a response too large to deliver.
      const codec = encodedOnce(BatchCreateResponse);
      const write = async (tx: CallConnection) => {
        const rows = await products.createMany(items, tx, scope.signal);
        const response = { products: rows.map(toProduct), createdCount: rows.length };
        const bytes = codec.encode(response);
        checkResponseSize(bytes.length, rows.length, limits.batchMaxResponseBytes ?? DEFAULT_MAX_MESSAGE_BYTES);
        return response;
      };
      const response = await scope.holdDeadlineFor(() => writes.run(scope, key, codec, write, "transaction"));
      // The transport sends the bytes whose size was checked (or that were stored), not a new encoding.
      return new EncodedMessage(response, codec.encode(response));
    },

    async *watchPrices(requests, context: Context) {
      const subscription = priceWatch.subscribe();
      const readRequests = async () => {
        for await (const request of requests) {
          const ids = request.productIds.map((id, index) => checkId(`product_ids[${index}]`, id));
          const added = subscription.watch(ids);
          if (subscription.size > limits.watchMaxIds) {
            throw new InvalidArgumentError(
              "product_ids",
              `a stream may watch at most ${limits.watchMaxIds} products`,
              Reason.WATCH_TOO_LARGE,
            );
          }
          if (added.length === 0) continue;
          const current = await products.getPrices(added, context.scope);
          if (current.length < added.length) {
            const found = new Set(current.map((row) => row.id));
            throw notFound(added.find((id) => !found.has(id)) as string);
          }
          const readAt = clock();
          subscription.offerInitial(current.map((row) => ({ id: row.id, price: row.price, updatedAt: readAt })));
        }
        // The client half-closed: it watches what it has asked for until it cancels.
      };
      readRequests().catch((error: unknown) => subscription.fail(error));
      try {
        for (;;) {
          for (const change of await subscription.next(context.signal)) yield toPriceUpdate(change);
        }
      } finally {
        subscription.close();
      }
    },

    async updatePrice(request, { scope }: Context) {
      const id = checkId("id", request.id);
      const price = checkPrice("price", request.price);
      const key = keyOf("UpdatePrice", request.requestId, () =>
        UpdatePriceRequest.encode({ ...request, requestId: "" }).finish(),
      );
      return scope.holdDeadlineFor(() =>
        writes.run(scope, key, updatePriceCodec, async (connection) => {
          const row = await products.updatePrice(id, price, connection);
          if (row === undefined) throw notFound(id);
          return { product: toProduct(row) };
        }),
      );
    },
  } satisfies ServiceHandlers<typeof ProductServiceDefinition, ScopeContext>;
}
