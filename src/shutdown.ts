// The graceful close of a server's transport: new connections and calls are refused (GOAWAY, then
// UNAVAILABLE), streams end at once with UNAVAILABLE, which tells their
// clients to go elsewhere, and unary calls in flight are left to finish.
// Past the grace period what still runs is cancelled, its queries too.
// Connections close as soon as no call runs: it does not wait for clients to
// hang up, nor for a client that keeps its request side open after its call
// ended.
import type { Logger } from "pino";
import { openCallsSettled, type CallTracker } from "./transport/call-tracker";
import type { TransportServer } from "./transport/transport-server";

/** How long calls cancelled past the grace period get to stop their work. */
const CANCELLED_CALLS_SETTLE_MS = 1_000;

/**
 * Stops accepting, ends streams, lets unary calls finish within `graceMs`
 * (then cancels them), drains what is still being sent and closes every
 * connection. Resolves to whether every call finished within `graceMs`.
 */
export async function closeGracefully(
  transport: TransportServer,
  calls: CallTracker,
  graceMs: number,
  logger: Logger,
): Promise<boolean> {
  calls.closing = true;
  const stoppedAccepting = transport.stopAccepting();
  for (const call of calls.open) if (call.isStream) call.shutDown();
  const deadline = Date.now() + graceMs;
  const graceful = await settledWithin(calls, graceMs);
  if (!graceful) {
    logger.warn({ graceMs, calls: calls.open.size }, "calls still running after the grace period: cancelling them");
    for (const call of calls.open) call.shutDown();
    await settledWithin(calls, CANCELLED_CALLS_SETTLE_MS);
  }
  // Statuses still on their way (behind a client that reads slowly) may use
  // what is left of the grace period.
  await transport.drain(Math.max(deadline - Date.now(), 0));
  transport.destroy();
  await stoppedAccepting;
  return graceful;
}

/** Resolves to true once every call in flight has settled, or to false after `ms`. */
function settledWithin(calls: CallTracker, ms: number): Promise<boolean> {
  const settled = openCallsSettled(calls).then(() => true);
  let timer: NodeJS.Timeout | undefined;
  const late = new Promise<boolean>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  return Promise.race([settled, late]).finally(() => clearTimeout(timer));
}
