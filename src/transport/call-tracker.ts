// The calls in flight and the rules every call starts under: its request id
// and its deadline. Shared by every protocol the transport speaks.
import { randomUUID } from "node:crypto";
import type { Status } from "nice-grpc-common";
import type { CallScope, MethodInfo } from "./call-scope";

export const REQUEST_ID_HEADER = "x-request-id";

// Bounded and plain, so a caller cannot inject into logs or headers.
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's request id when it is acceptable, else a new one. */
export function requestIdFrom(incoming: unknown): string {
  return typeof incoming === "string" && ACCEPTABLE_REQUEST_ID.test(incoming) ? incoming : randomUUID();
}

export interface DeadlinePolicy {
  /** Deadline given to unary calls that arrive without one. */
  readonly defaultMs: number;
  /** The most any call may take, whatever deadline the client sent. */
  readonly maxMs: number;
  /** Method paths that may run as long as the client keeps them open: no default, no ceiling. */
  readonly longLived: ReadonlySet<string>;
}

/** The call's deadline (ms since the epoch) under the policy, or undefined for none. */
export function deadlineOf(
  method: MethodInfo,
  budgetMs: number | undefined,
  policy: DeadlinePolicy,
): number | undefined {
  if (policy.longLived.has(method.path)) return budgetMs === undefined ? undefined : Date.now() + budgetMs;
  const unary = !method.requestStream && !method.responseStream;
  const budget = Math.min(budgetMs ?? (unary ? policy.defaultMs : policy.maxMs), policy.maxMs);
  return Date.now() + budget;
}

/** Sees every call once: when it starts, each message, and its status. */
export interface CallObserver {
  callStarted(scope: CallScope): void;
  callEnded(scope: CallScope, code: Status): void;
  messageReceived(scope: CallScope): void;
  messageSent(scope: CallScope): void;
}

export const NO_OBSERVER: CallObserver = {
  callStarted: () => undefined,
  callEnded: () => undefined,
  messageReceived: () => undefined,
  messageSent: () => undefined,
};

/** The calls in flight, for shutdown and for tests that wait for handlers to finish. */
export interface CallTracker {
  readonly open: Set<CallScope>;
  /** True once shutdown began: new calls are refused with UNAVAILABLE. */
  closing: boolean;
}

export function createCallTracker(): CallTracker {
  return { open: new Set(), closing: false };
}

/** Resolves once every call open now has settled: its status sent and its handler finished. */
export function openCallsSettled(calls: CallTracker): Promise<void> {
  return Promise.all([...calls.open].map((call) => new Promise<void>((resolve) => call.onSettled(resolve)))).then(
    () => undefined,
  );
}
