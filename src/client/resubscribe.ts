// WatchPrices that survives a replica going away: when the stream ends with
// UNAVAILABLE (a restart, "server shutting down"), it is opened again after
// a backoff and sent every id watched so far, so the caller keeps one
// uninterrupted stream of prices. Re-subscribing is safe to repeat: the
// server answers with the current prices, which the caller may see twice.
import { ClientError, Status } from "nice-grpc-common";
import type { PriceUpdate, WatchRequest } from "../../gen/product/v1/product";
import { ProductClientError } from "./errors";
import { jitteredBackoffMs } from "./middleware";

/** How a watch re-subscribes: backoff growing from initial to max, until no stream has worked for giveUpAfterMs. */
export interface WatchRetryPolicy {
  readonly initialBackoffMs: number;
  readonly maxBackoffMs: number;
  /** Since the last stream that delivered anything: past this the caller gets the error. */
  readonly giveUpAfterMs: number;
}

export const DEFAULT_WATCH_RETRY: WatchRetryPolicy = {
  initialBackoffMs: 100,
  maxBackoffMs: 2_000,
  giveUpAfterMs: 60_000,
};

type OpenWatch = (requests: AsyncIterable<WatchRequest>) => AsyncIterable<PriceUpdate>;

/** The caller's requests, read once, replayed to each stream as one request with every id. */
type WatchRequestLike = { readonly productIds?: readonly string[] | undefined };

function requestLog(requests: AsyncIterable<WatchRequestLike>) {
  const watched = new Set<string>();
  const waiting = new Set<() => void>();
  let ended = false;
  void (async () => {
    try {
      for await (const request of requests) {
        for (const id of request.productIds ?? []) watched.add(id);
        for (const wake of waiting) wake();
      }
    } finally {
      ended = true;
      for (const wake of waiting) wake();
    }
  })();

  return async function* forStream(signal: AbortSignal): AsyncGenerator<WatchRequest> {
    let sent = new Set<string>();
    for (;;) {
      const fresh = [...watched].filter((id) => !sent.has(id));
      if (fresh.length > 0) {
        sent = new Set([...sent, ...fresh]);
        yield { productIds: fresh };
      }
      if (ended || signal.aborted) {
        // Keep the request side open: half-closing is not leaving.
        await new Promise<void>((resolve) => signal.addEventListener("abort", () => resolve(), { once: true }));
        return;
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          waiting.delete(wake);
          resolve();
        };
        waiting.add(wake);
      });
    }
  };
}

export async function* resubscribingWatch(
  open: OpenWatch,
  requests: AsyncIterable<WatchRequestLike>,
  policy: WatchRetryPolicy,
  signal?: AbortSignal,
): AsyncGenerator<PriceUpdate> {
  const forStream = requestLog(requests);
  let failures = 0;
  let lastWorked = Date.now();
  for (;;) {
    const attempt = new AbortController();
    const stop = () => attempt.abort();
    signal?.addEventListener("abort", stop, { once: true });
    try {
      for await (const update of open(forStream(attempt.signal))) {
        failures = 0;
        lastWorked = Date.now();
        yield update;
      }
      return;
    } catch (error) {
      const unavailable =
        (error instanceof ProductClientError || error instanceof ClientError) && error.code === Status.UNAVAILABLE;
      failures += 1;
      if (!unavailable || signal?.aborted || Date.now() - lastWorked > policy.giveUpAfterMs) throw error;
      const backoff = jitteredBackoffMs(policy, failures);
      await new Promise((resolve) => setTimeout(resolve, backoff));
    } finally {
      attempt.abort();
      signal?.removeEventListener("abort", stop);
    }
  }
}
