// ProductService: the contract's RPCs over the repository. This layer maps
// proto messages to domain values and back, validates input, and raises
// domain errors; src/middleware/errors.ts turns those into status codes.
import type { CallContext } from "nice-grpc-common";
import type { CallScopeContext } from "../middleware/call-scope";
import type {
  CreateProductRequest,
  PriceUpdate,
  Product,
  ProductServiceImplementation,
} from "../../gen/product/v1/product";
import { InvalidArgumentError, NotFoundError } from "../errors";
import type { ProductRepo, ProductRow } from "../repos/product-repo";
import type { PageTokenCodec } from "./page-token";
import type { PriceChange, PriceWatchHub } from "./price-watch-hub";
import { checkDecoded, checkId, checkPrice, checkProductInput, type ProductInput } from "./validation";

/** The trailing-metadata key that carries ListProducts' continuation token. */
export const NEXT_PAGE_TOKEN_KEY = "next-page-token";

export interface ProductServiceLimits {
  /** Most items one BatchCreateProducts stream may carry. */
  readonly batchMaxItems: number;
  /** Most distinct ids one WatchPrices stream may watch. */
  readonly watchMaxIds: number;
}

export interface ProductServiceDeps {
  readonly products: ProductRepo;
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

/** What every handler is given: nice-grpc's context, and its call's scope (signal, deadline, request id). */
type Context = CallContext & CallScopeContext;

export function createProductService(deps: ProductServiceDeps) {
  const { products, priceWatch, pageTokens, limits } = deps;
  const clock = deps.clock ?? (() => new Date());

  return {
    async getProduct(request) {
      // Validated before it joins a coalesced read, so it can never fail other callers' reads.
      const id = checkId("id", request.id);
      const row = await products.getById(id);
      if (row === undefined) throw notFound(id);
      return toProduct(row);
    },

    // Writes run guarded (CallScope.guard): the answer is what the store did.
    async createProduct(request, { call }: Context) {
      const input = checkProductInput(toProductInput(request));
      return toProduct(await call.guard(() => products.create(input, call)));
    },

    async deleteProduct(request, { call }: Context) {
      const id = checkId("id", request.id);
      if (!(await call.guard(() => products.deleteById(id, call)))) throw notFound(id);
      return {};
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
      for await (const batch of products.listInBatches({ category: filter.category, after, limit }, context.call)) {
        for (const row of batch) {
          if (pageSize !== undefined && sent === pageSize) {
            context.trailer.set(NEXT_PAGE_TOKEN_KEY, pageTokens.encode(last as ProductRow, filter));
            return;
          }
          // nice-grpc waits for the transport to drain before asking for the next row.
          yield toProduct(row);
          sent += 1;
          last = row;
        }
      }
    },

    async batchCreateProducts(requests, { call }: Context) {
      const items: ProductInput[] = [];
      for await (const request of requests) {
        if (items.length === limits.batchMaxItems) {
          throw new InvalidArgumentError("items", `a batch may create at most ${limits.batchMaxItems} products; nothing was written`);
        }
        const prefix = `items[${items.length}].`;
        items.push(checkProductInput(toProductInput(checkDecoded(request, prefix)), prefix));
      }
      // Nothing is written until the client half-closes, so a stream that
      // is cancelled, times out or loses its client before that leaves
      // nothing behind; a cancel during the insert rolls the transaction back.
      const rows = await call.guard(() => products.createMany(items, call));
      return { products: rows.map(toProduct), createdCount: rows.length };
    },

    async *watchPrices(requests, context: Context) {
      const subscription = priceWatch.subscribe();
      const readRequests = async () => {
        for await (const message of requests) {
          const request = checkDecoded(message);
          const ids = request.productIds.map((id, index) => checkId(`product_ids[${index}]`, id));
          const added = subscription.watch(ids);
          if (subscription.size > limits.watchMaxIds) {
            throw new InvalidArgumentError("product_ids", `a stream may watch at most ${limits.watchMaxIds} products`);
          }
          if (added.length === 0) continue;
          const current = await products.getPrices(added, context.call);
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

    async updatePrice(request, { call }: Context) {
      const id = checkId("id", request.id);
      const price = checkPrice("price", request.price);
      const row = await call.guard(() => products.updatePrice(id, price, call));
      if (row === undefined) throw notFound(id);
      return { product: toProduct(row) };
    },
  } satisfies ProductServiceImplementation<CallScopeContext>;
}
