// Waiting on what the server does, rather than for a guessed time. Two kinds
// of wait, one helper each: for a condition to hold (until), and, for a
// check that something does not happen, a bounded time that says so
// (whileNothingHappens). The few timers left in tests are not waits (a
// delay a test injects, a deadline it sets) and say so.
import type { ProductServer } from "../../src/server";
import { openCallsSettled as settled } from "../../src/transport/call-tracker";

/**
 * Resolves to the milliseconds it took once `condition` holds (checked every
 * 5 ms, so keep it cheap: state in memory, or one small query); fails after
 * `timeoutMs`, naming `what` was awaited.
 */
export async function until(
  condition: () => boolean | Promise<boolean>,
  timeoutMs = 5_000,
  what = "condition",
): Promise<number> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
  return Date.now() - started;
}

/**
 * Lets `ms` pass, for a check that something does not happen within it (a
 * stream that is not ended, a page that is not fetched): what cannot be
 * waited for can only be watched for a bounded time. With `happened`, fails
 * as soon as it holds, naming `what`.
 */
export async function whileNothingHappens(ms: number, what: string, happened?: () => boolean): Promise<void> {
  const started = Date.now();
  for (;;) {
    if (happened?.() === true) throw new Error(`${what} happened within ${ms} ms`);
    const left = ms - (Date.now() - started);
    if (left <= 0) return;
    await new Promise((resolve) => setTimeout(resolve, Math.min(5, left)));
  }
}

/** Resolves once every call open on `app` now has settled: its status sent and its handler finished. */
export function openCallsSettled(app: ProductServer): Promise<void> {
  return settled(app.calls);
}
