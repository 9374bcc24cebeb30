// Waiting on what the server does, rather than for a guessed time. Two kinds
// of wait, one helper each: for a condition to hold (until), and, for a
// check that something does not happen, a bounded time that says so
// (whileNothingHappens). Tests wait with nothing else.
import type { ProductServer } from "../../src/server";
import { openCallsSettled as settled } from "../../src/transport/call-tracker";

/**
 * Resolves to the milliseconds it took once `condition` holds (checked every
 * few milliseconds: it reads the server's own state); fails after `timeoutMs`.
 */
export async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 5_000): Promise<number> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`condition not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return Date.now() - started;
}

/**
 * Lets `ms` pass, for a check that something does not happen within it (a
 * stream that is not ended, a page that is not fetched): what cannot be
 * waited for can only be watched for a bounded time. `what` says what.
 */
export async function whileNothingHappens(ms: number, what: string): Promise<void> {
  void what;
  await new Promise((resolve) => setTimeout(resolve, ms));
}

/** Resolves once every call open on `app` now has settled: its status sent and its handler finished. */
export function openCallsSettled(app: ProductServer): Promise<void> {
  return settled(app.calls);
}
