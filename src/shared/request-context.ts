// The call being handled, for code that runs inside a handler. The server's
// call scope (src/transport/call-scope.ts) enters it once per call, around
// everything the transport runs for that call, so it follows the handler through
// every await. When a handler calls another service through src/client, the
// outgoing call carries the same request id, so one id follows a request
// across services and their logs.
// Kept free of server imports: the typed client reads it too.
import { AsyncLocalStorage } from "node:async_hooks";

export interface CurrentCall {
  readonly requestId: string;
  /** When the call must have ended, in ms since the epoch; undefined for none. */
  readonly deadline: number | undefined;
  /** Aborts when the client cancels, the deadline passes or the server shuts the call down. */
  readonly signal: AbortSignal;
}

const storage = new AsyncLocalStorage<CurrentCall>();

export function runInCall<Args extends unknown[], R>(call: CurrentCall, work: (...args: Args) => R, ...args: Args): R {
  return storage.run(call, work, ...args);
}

export function currentCall(): CurrentCall | undefined {
  return storage.getStore();
}

export function currentRequestId(): string | undefined {
  return storage.getStore()?.requestId;
}
