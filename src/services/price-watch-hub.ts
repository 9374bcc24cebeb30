// Fans price changes out to WatchPrices streams. One hub per process holds,
// for each watched product, the streams watching it; each stream has its own
// queue that keeps only the latest price per product, so a slow reader costs
// at most one pending update per product it watches and never stalls others.
import type { PriceChange } from "../repos/price-changes";

export type { PriceChange };

export interface WatchSubscription {
  /** Starts watching these ids; returns those not watched before, in order. */
  watch(ids: readonly string[]): string[];
  /** How many distinct ids this stream watches. */
  readonly size: number;
  /**
   * The current price of products just watched. A change heard since the id
   * was watched is newer than any read, so for those ids the read is dropped.
   */
  offerInitial(prices: readonly PriceChange[]): void;
  /** Resolves with every pending update (at least one), oldest first. Rejects when failed or aborted. */
  next(signal: AbortSignal): Promise<PriceChange[]>;
  /** Ends the stream with this error at its next read. */
  fail(error: unknown): void;
  /** Stops watching everything; the hub forgets this stream. */
  close(): void;
}

export interface PriceWatchHub {
  subscribe(): WatchSubscription;
  /** Delivers one change to every stream watching its product. */
  publish(change: PriceChange): void;
  /** Streams open, and ids watched across them (for metrics and tests). */
  stats(): { subscriptions: number; watchedIds: number };
}

export function createPriceWatchHub(): PriceWatchHub {
  const watchersById = new Map<string, Set<Subscription>>();
  let subscriptions = 0;

  class Subscription implements WatchSubscription {
    private readonly watched = new Set<string>();
    /** Latest pending update per product; a Map keeps first-queued order. */
    private pending = new Map<string, PriceChange>();
    /** Ids that heard a change after being watched: their initial read is stale. */
    private readonly changedSinceWatch = new Set<string>();
    private wake: (() => void) | undefined;
    private failure: { error: unknown } | undefined;
    private closed = false;

    get size(): number {
      return this.watched.size;
    }

    watch(ids: readonly string[]): string[] {
      const added: string[] = [];
      for (const id of ids) {
        if (this.watched.has(id)) continue;
        this.watched.add(id);
        added.push(id);
        let watchers = watchersById.get(id);
        if (watchers === undefined) watchersById.set(id, (watchers = new Set()));
        watchers.add(this);
      }
      return added;
    }

    deliver(change: PriceChange): void {
      this.changedSinceWatch.add(change.id);
      this.enqueue(change);
    }

    offerInitial(prices: readonly PriceChange[]): void {
      for (const price of prices) {
        if (!this.changedSinceWatch.has(price.id)) this.enqueue(price);
      }
    }

    private enqueue(change: PriceChange): void {
      if (this.closed) return;
      this.pending.set(change.id, change);
      this.wakeReader();
    }

    private wakeReader(): void {
      const wake = this.wake;
      this.wake = undefined;
      wake?.();
    }

    async next(signal: AbortSignal): Promise<PriceChange[]> {
      for (;;) {
        signal.throwIfAborted();
        if (this.failure !== undefined) throw this.failure.error;
        if (this.pending.size > 0) {
          const updates = [...this.pending.values()];
          this.pending = new Map();
          return updates;
        }
        await new Promise<void>((resolve) => {
          const onAbort = () => resolve();
          signal.addEventListener("abort", onAbort, { once: true });
          this.wake = () => {
            signal.removeEventListener("abort", onAbort);
            resolve();
          };
        });
      }
    }

    fail(error: unknown): void {
      this.failure ??= { error };
      this.wakeReader();
    }

    close(): void {
      if (this.closed) return;
      this.closed = true;
      subscriptions -= 1;
      for (const id of this.watched) {
        const watchers = watchersById.get(id);
        watchers?.delete(this);
        if (watchers?.size === 0) watchersById.delete(id);
      }
      this.watched.clear();
      this.pending.clear();
      this.wakeReader();
    }
  }

  return {
    subscribe() {
      subscriptions += 1;
      return new Subscription();
    },
    publish(change) {
      const watchers = watchersById.get(change.id);
      if (watchers === undefined) return;
      for (const watcher of watchers) watcher.deliver(change);
    },
    stats() {
      return { subscriptions, watchedIds: watchersById.size };
    },
  };
}
