// The typed client other services import (package entry "./client"):
//
//   const products = createProductClient({ address: "products:50051", tls: {}, tokenProvider });
//   const product = await products.getProduct(id); // Product | null
//
// Every method is generated from the proto. Every call carries a deadline
// (the seed's "missing timeout causes cascading hang") and an x-request-id;
// every write carries an idempotency key (request_id), so reads and writes
// alike are retried on UNAVAILABLE within the deadline (WatchPrices
// re-subscribes); failures are ProductClientError carrying the status code,
// the reason and the fields at fault (the seed's "unhandled RpcError").
import { ChannelCredentials } from "@grpc/grpc-js";
import { createChannel, createClientFactory, Metadata } from "nice-grpc";
import type { CallOptions } from "nice-grpc-common";
import { ProductServiceDefinition, type Product, type ProductServiceClient } from "../../gen/product/v1/product";
import { ProductClientError, Status, type FieldViolation } from "./errors";
import { DEFAULT_WATCH_RETRY, resubscribingWatch, type WatchRetryPolicy } from "./resubscribe";
import { errorDetailsClientMiddleware } from "nice-grpc-error-details";
import { openTelemetryClientMiddleware } from "nice-grpc-opentelemetry";
import {
  createDeadlineMiddleware,
  createRetryMiddleware,
  DEFAULT_RETRY,
  createIdempotencyKeyMiddleware,
  requestIdAndErrors,
  type ProductCallOptions,
  type RetryPolicy,
} from "./middleware";

export * from "../../gen/product/v1/product";
export {
  ProductClientError,
  Status,
  type FieldViolation,
  type ProductCallOptions,
  type RetryPolicy,
  type WatchRetryPolicy,
};

export interface ProductClientOptions {
  /** host:port */
  readonly address: string;
  /** TLS (the default): the CA to trust (system roots when absent), and a client certificate for mTLS. */
  readonly tls?: { readonly ca?: string | Buffer; readonly cert?: string | Buffer; readonly key?: string | Buffer };
  /**
   * How calls are spread over the addresses `address` resolves to:
   * "round_robin" for a headless Service (`dns:///name:port`), every replica
   * in turn; "pick_first" (grpc-js's default) for one address or a proxy.
   */
  readonly loadBalancing?: "round_robin" | "pick_first";
  /** Plaintext, for loopback and tests: must be said out loud. */
  readonly insecure?: boolean;
  /** A bearer token, or a function that returns a fresh one for each call. */
  readonly token?: string;
  readonly tokenProvider?: () => string | Promise<string>;
  /** Deadline of calls that set none (WatchPrices excepted). Default 5 s. */
  readonly defaultDeadlineMs?: number;
  /** Retry policy for reads and keyed writes; `false` turns retries off. */
  readonly retry?: RetryPolicy | false;
  /**
   * How WatchPrices re-subscribes when its stream ends with UNAVAILABLE (a
   * replica restarting or shutting down): `false` never does.
   */
  readonly watchRetry?: WatchRetryPolicy | false;
}

type Options = CallOptions & Partial<ProductCallOptions>;

export type ProductClient = Omit<ProductServiceClient<ProductCallOptions>, "getProduct"> & {
  /** The product, or null when there is none with that id. */
  getProduct(id: string, options?: Options): Promise<Product | null>;
  close(): void;
};

const path = (name: string) => `/${ProductServiceDefinition.fullName}/${name}`;
const LONG_LIVED = new Set([path(ProductServiceDefinition.methods.watchPrices.name)]);
/** Writes whose request has a `request_id` (an idempotency key), as the generated definition says. */
const KEYED = new Set(
  Object.values(ProductServiceDefinition.methods)
    .filter((method) => "requestId" in (method.requestType.fromPartial({}) as object))
    .map((method) => path(method.name)),
);

function credentials(options: ProductClientOptions): ChannelCredentials {
  if (options.insecure === true) return ChannelCredentials.createInsecure();
  const toBuffer = (value: string | Buffer | undefined) => (value === undefined ? null : Buffer.from(value));
  return ChannelCredentials.createSsl(
    toBuffer(options.tls?.ca),
    toBuffer(options.tls?.key),
    toBuffer(options.tls?.cert),
  );
}

export function createProductClient(options: ProductClientOptions): ProductClient {
  if (options.insecure === true && options.tls !== undefined) throw new Error("choose tls or insecure, not both");
  // Reconnect to a replica that went away within a second or two, not grpc-js's default of up to 2 minutes.
  const channel = createChannel(options.address, credentials(options), {
    "grpc.max_reconnect_backoff_ms": 2_000,
    "grpc.initial_reconnect_backoff_ms": 200,
    ...(options.loadBalancing === undefined
      ? {}
      : { "grpc.service_config": JSON.stringify({ loadBalancingConfig: [{ [options.loadBalancing]: {} }] }) }),
  });
  const tokenFor = options.tokenProvider ?? (options.token === undefined ? undefined : () => options.token as string);

  // The first middleware used is the one nearest the wire (nice-grpc composes
  // them that way): error details are read there, retries happen inside the
  // call's deadline, and each write gets its key once, outside the retries.
  let factory = createClientFactory().use(errorDetailsClientMiddleware);
  if (options.retry !== false) factory = factory.use(createRetryMiddleware(options.retry ?? DEFAULT_RETRY));
  const client = factory
    .use(createIdempotencyKeyMiddleware(KEYED))
    .use(createDeadlineMiddleware(options.defaultDeadlineMs ?? 5_000, LONG_LIVED))
    .use(async function* withToken(call, callOptions) {
      if (tokenFor === undefined) return yield* call.next(call.request, callOptions);
      const metadata = Metadata(callOptions.metadata);
      metadata.set("authorization", `Bearer ${await tokenFor()}`);
      return yield* call.next(call.request, { ...callOptions, metadata });
    })
    .use(requestIdAndErrors)
    // Outermost: one span per logical call, its context (traceparent) sent with every attempt.
    .use(openTelemetryClientMiddleware())
    .create(ProductServiceDefinition, channel) as unknown as ProductServiceClient<ProductCallOptions>;

  return {
    createProduct: (request, callOptions) => client.createProduct(request, callOptions),
    deleteProduct: (request, callOptions) => client.deleteProduct(request, callOptions),
    listProducts: (request, callOptions) => client.listProducts(request, callOptions),
    batchCreateProducts: (request, callOptions) => client.batchCreateProducts(request, callOptions),
    watchPrices: (request, callOptions) =>
      options.watchRetry === false
        ? client.watchPrices(request, callOptions)
        : resubscribingWatch(
            (requests) => client.watchPrices(requests, callOptions),
            request,
            options.watchRetry ?? DEFAULT_WATCH_RETRY,
            callOptions?.signal,
          ),
    updatePrice: (request, callOptions) => client.updatePrice(request, callOptions),
    async getProduct(id, callOptions) {
      try {
        return await client.getProduct({ id }, callOptions);
      } catch (error) {
        if (error instanceof ProductClientError && error.code === Status.NOT_FOUND) return null;
        throw error;
      }
    },
    close: () => channel.close(),
  };
}
