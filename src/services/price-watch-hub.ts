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

/** A catch-up in progress: changes published after it began win over what it read. */
export interface CatchUp {
  /** Every id any stream watches, to read the current price of. */
  readonly ids: readonly string[];
  /** Sends each stream the prices that differ from what it last had, except for ids changed meanwhile. */
  finish(current: readonly PriceChange[]): void;
}

export interface PriceWatchHub {
  subscribe(): WatchSubscription;
  /** Delivers one change to every stream watching its product. */
  publish(change: PriceChange): void;
  /**
   * For after a time changes may have been missed (the LISTEN connection
   * was lost): begin, read the current prices of `ids`, then finish.
   */
  beginCatchUp(): CatchUp;
  /** Streams open, and ids watched across them (for metrics and tests). */
  stats(): { subscriptions: number; watchedIds: number };
}

export function createPriceWatchHub(): PriceWatchHub {
  const watchersById = new Map<string, Set<Subscription>>();
  let subscriptions = 0;
  /** Ids published to since each catch-up in progress began. */
  const catchUps = new Set<Set<string>>();

  class Subscription implements WatchSubscription {
    private readonly watched = new Set<string>();
    /** Latest pending update per product; a Map keeps first-queued order. */
    private pending = new Map<string, PriceChange>();
    /** The price this stream last queued per product: a catch-up sends only what differs. */
    private readonly lastPrice = new Map<string, number>();
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

    catchUp(change: PriceChange): void {
      if (this.lastPrice.get(change.id) === change.price) return;
      // Newer than an initial read still on its way.
      this.changedSinceWatch.add(change.id);
      this.enqueue(change);
    }

    private enqueue(change: PriceChange): void {
      if (this.closed) return;
      this.lastPrice.set(change.id, change.price);
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
      this.lastPrice.clear();
      this.wakeReader();
    }
  }

  return {
    subscribe() {
      subscriptions += 1;
      return new Subscription();
    },
    publish(change) {
      for (const published of catchUps) published.add(change.id);
      const watchers = watchersById.get(change.id);
      if (watchers === undefined) return;
      for (const watcher of watchers) watcher.deliver(change);
    },
    beginCatchUp() {
      const publishedSince = new Set<string>();
      catchUps.add(publishedSince);
      return {
        ids: [...watchersById.keys()],
        finish(current) {
          catchUps.delete(publishedSince);
          for (const change of current) {
            if (publishedSince.has(change.id)) continue;
            for (const watcher of watchersById.get(change.id) ?? []) watcher.catchUp(change);
          }
        },
      };
    },
    stats() {
      return { subscriptions, watchedIds: watchersById.size };
    },
  };
}
