// What a handler knows of the call it is serving, beside nice-grpc's
// CallContext: the transport makes one scope per call
// (src/transport/call-scope.ts) and hands it over as `context.scope`.
import type { CurrentCall } from "./request-context";

export interface RequestScope extends CurrentCall {
  /** ms left before the deadline (never negative); undefined when there is none. */
  remainingMs(): number | undefined;
  /**
   * Runs a write whose outcome must decide the answer. While it runs, the
   * deadline still aborts the signal (so the write's statement is cancelled)
   * but does not answer the client; the handler answers with what the store
   * did. So DEADLINE_EXCEEDED never goes out for a write the store kept.
   */
  holdDeadlineFor<T>(write: () => Promise<T>): Promise<T>;
}

/** The context extension every handler gets from the transport. */
export interface ScopeContext {
  readonly scope: RequestScope;
}
