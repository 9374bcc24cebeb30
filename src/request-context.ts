// The request id of the call being handled, for code that runs inside a
// handler: when a handler calls another service through src/client, the
// outgoing call carries the same id, so one id follows a request across
// services and their logs.
import { AsyncLocalStorage } from "node:async_hooks";

const storage = new AsyncLocalStorage<string>();

export function runWithRequestId<T>(requestId: string, work: () => T): T {
  return storage.run(requestId, work);
}

export function currentRequestId(): string | undefined {
  return storage.getStore();
}
