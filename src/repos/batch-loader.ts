// Coalesces point reads: every key asked for in the same event-loop turn is
// fetched by one query. Under concurrency this turns N round trips into one,
// which is worth 3–4× in GetProduct throughput; a lone call waits one
// setImmediate (microseconds) longer than it would alone.
//
// The query belongs to every call waiting for it and to none alone: a call
// that stops (cancelled, out of time) leaves it at once with its own
// reason, and the query is cancelled when its last caller has left, so a
// read that nobody waits for does not keep running (behind a lock, say). It
// runs on a connection reserved for it, so that cancel reaches nothing else.
import type { WorkScope } from "../db/client";

/** Loads every key in one query, in `scope`: it aborts once no caller waits. */
export type LoadMany<K, V> = (keys: readonly K[], scope: WorkScope) => Promise<ReadonlyMap<K, V>>;

interface Waiter<V> {
  readonly scope: WorkScope;
  readonly resolve: (value: V | undefined) => void;
  readonly reject: (error: unknown) => void;
  readonly onAbort: () => void;
}

/** One query's keys, each with the calls that wait for it. */
class Batch<K, V> {
  readonly waiting = new Map<K, Set<Waiter<V>>>();
  readonly controller = new AbortController();
  size = 0;
  /** Its query has been sent (before that, a batch left empty is simply not sent). */
  started = false;

  add(key: K, waiter: Waiter<V>): void {
    let waiters = this.waiting.get(key);
    if (waiters === undefined) this.waiting.set(key, (waiters = new Set()));
    waiters.add(waiter);
    this.size += 1;
  }

  /** Takes a stopped call out; the query is cancelled when it was the last. */
  remove(key: K, waiter: Waiter<V>): void {
    const waiters = this.waiting.get(key);
    if (waiters === undefined || !waiters.delete(waiter)) return;
    this.size -= 1;
    if (waiters.size === 0) this.waiting.delete(key);
    if (this.size === 0 && this.started) this.controller.abort(waiter.scope.signal.reason);
  }

  /** The longest any caller still has; undefined when one has no deadline. */
  remainingMs(): number | undefined {
    let most = 0;
    for (const waiters of this.waiting.values()) {
      for (const waiter of waiters) {
        const remaining = waiter.scope.remainingMs();
        if (remaining === undefined) return undefined;
        most = Math.max(most, remaining);
      }
    }
    return most;
  }

  settle(outcome: (waiter: Waiter<V>, key: K) => void): void {
    for (const [key, waiters] of this.waiting) {
      for (const waiter of waiters) {
        waiter.scope.signal.removeEventListener("abort", waiter.onAbort);
        outcome(waiter, key);
      }
    }
    this.waiting.clear();
    this.size = 0;
  }
}

export interface BatchLoaderOptions {
  /** Most keys in one query; a larger turn is split into several. */
  readonly maxBatchSize?: number;
}

export function createBatchLoader<K, V>(
  loadMany: LoadMany<K, V>,
  options: BatchLoaderOptions = {},
): (key: K, scope: WorkScope) => Promise<V | undefined> {
  const maxBatchSize = options.maxBatchSize ?? 500;
  let pending = new Batch<K, V>();
  let scheduled = false;

  async function load(batch: Batch<K, V>): Promise<void> {
    if (batch.size === 0) return;
    batch.started = true;
    const scope: WorkScope = { signal: batch.controller.signal, remainingMs: () => batch.remainingMs() };
    try {
      const found = await loadMany([...batch.waiting.keys()], scope);
      batch.settle((waiter, key) => waiter.resolve(found.get(key)));
    } catch (error) {
      // One failed query fails the calls that shared it, and only those.
      batch.settle((waiter) => waiter.reject(error));
    }
  }

  function flush(): void {
    scheduled = false;
    const turn = pending;
    pending = new Batch();
    if (turn.waiting.size <= maxBatchSize) {
      void load(turn);
      return;
    }
    // Split: each part is a batch of its own, and its callers move with it.
    let part = new Batch<K, V>();
    for (const [key, waiters] of turn.waiting) {
      for (const waiter of waiters) {
        waiter.scope.signal.removeEventListener("abort", waiter.onAbort);
        join(part, key, waiter.scope, waiter.resolve, waiter.reject);
      }
      if (part.waiting.size === maxBatchSize) {
        void load(part);
        part = new Batch();
      }
    }
    void load(part);
  }

  function join(
    batch: Batch<K, V>,
    key: K,
    scope: WorkScope,
    resolve: (value: V | undefined) => void,
    reject: (error: unknown) => void,
  ): void {
    const waiter: Waiter<V> = {
      scope,
      resolve,
      reject,
      onAbort: () => {
        batch.remove(key, waiter);
        reject(scope.signal.reason);
      },
    };
    scope.signal.addEventListener("abort", waiter.onAbort, { once: true });
    batch.add(key, waiter);
  }

  return (key, scope) =>
    new Promise<V | undefined>((resolve, reject) => {
      scope.signal.throwIfAborted();
      join(pending, key, scope, resolve, reject);
      if (!scheduled) {
        scheduled = true;
        setImmediate(flush);
      }
    });
}
