// Waiting on what the server does, rather than for a guessed time.
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

/** Resolves once every call open on `app` now has settled: its status sent and its handler finished. */
export function openCallsSettled(app: ProductServer): Promise<void> {
  return settled(app.calls);
}
