// One call, from its request headers to its status: made once per call by the
// transport (call-runner.ts) and handed to the handler as `context.scope`
// and as the current call (src/shared/request-context.ts). It holds the request id,
// the deadline and one AbortSignal that aborts when the client cancels, when
// the deadline passes and when shutdown ends a stream, with a ServerError
// naming which as its reason, so whatever stops on the signal reports the
// right status.
import { ServerError, Status } from "nice-grpc-common";
import type { RequestScope } from "../shared/request-scope";
import { CANCELLED_MESSAGE, DEADLINE_EXCEEDED_MESSAGE, SHUTTING_DOWN_MESSAGE } from "../shared/status-messages";
import { setLongTimeout, type LongTimeout } from "./long-timeout";

export interface MethodInfo {
  /** /package.Service/Method */
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
}

export interface CallScopeInit {
  readonly requestId: string;
  readonly method: MethodInfo;
  readonly peer: string;
  /** ms since the epoch; undefined for a call that may run as long as its client wants. */
  readonly deadline: number | undefined;
  /** Sends this status to the client now, whatever the handler is doing. */
  readonly endCall: (code: Status, details: string) => void;
}

export class CallScope implements RequestScope {
  readonly requestId: string;
  readonly method: MethodInfo;
  readonly peer: string;
  readonly deadline: number | undefined;
  readonly startedAt = process.hrtime.bigint();
  /** Messages each way, counted as they pass. */
  sent = 0;
  received = 0;
  /** The status the client was sent (or CANCELLED when it went away first); undefined while open. */
  code: Status | undefined;

  private readonly controller = new AbortController();
  private readonly endCall: (code: Status, details: string) => void;
  private readonly timer: LongTimeout | undefined;
  private handlerRunning = false;
  private heldWrites = 0;
  private settledListeners: (() => void)[] = [];

  constructor(init: CallScopeInit) {
    this.requestId = init.requestId;
    this.method = init.method;
    this.peer = init.peer;
    this.deadline = init.deadline;
    this.endCall = init.endCall;
    if (init.deadline !== undefined) this.timer = setLongTimeout(() => this.expire(), init.deadline - Date.now());
  }

  get signal(): AbortSignal {
    return this.controller.signal;
  }

  get isStream(): boolean {
    return this.method.requestStream || this.method.responseStream;
  }

  remainingMs(): number | undefined {
    return this.deadline === undefined ? undefined : Math.max(this.deadline - Date.now(), 0);
  }

  /** The deadline passed: stop the work, and answer DEADLINE_EXCEEDED now unless a held write is deciding the answer. */
  expire(): void {
    this.abort(Status.DEADLINE_EXCEEDED, DEADLINE_EXCEEDED_MESSAGE);
    if (this.heldWrites === 0) this.end(Status.DEADLINE_EXCEEDED, DEADLINE_EXCEEDED_MESSAGE);
  }

  /** Shutdown: a stream ends now with UNAVAILABLE, which tells its client to reconnect elsewhere. */
  shutDown(): void {
    this.abort(Status.UNAVAILABLE, SHUTTING_DOWN_MESSAGE);
    this.end(Status.UNAVAILABLE, SHUTTING_DOWN_MESSAGE);
  }

  async holdDeadlineFor<T>(write: () => Promise<T>): Promise<T> {
    this.signal.throwIfAborted();
    this.heldWrites += 1;
    try {
      return await write();
    } finally {
      this.heldWrites -= 1;
    }
  }

  /** Sends the client this status unless one has been sent. */
  end(code: Status, details: string): void {
    if (this.code === undefined) this.endCall(code, details);
  }

  /** The client went away (RST_STREAM, connection lost) before its status: stop whatever still runs. */
  cancelled(): void {
    if (this.code !== undefined) return;
    this.abort(Status.CANCELLED, CANCELLED_MESSAGE);
    this.statusSent(Status.CANCELLED);
  }

  /** The transport sent the status (the first one counts). */
  statusSent(code: Status): void {
    if (this.code !== undefined) return;
    this.code = code;
    this.timer?.clear();
    // Whatever still runs for this call has nobody to answer. (An abort
    // reason is an Error with a stack trace: made only when something runs.)
    if (code !== Status.OK && this.handlerRunning) this.abort(Status.CANCELLED, CANCELLED_MESSAGE);
    this.maybeSettled();
  }

  handlerStarted(): void {
    this.handlerRunning = true;
  }

  handlerFinished(): void {
    this.handlerRunning = false;
    this.maybeSettled();
  }

  /** True once the status went out and no handler code runs for the call any more. */
  get settled(): boolean {
    return this.code !== undefined && !this.handlerRunning;
  }

  onSettled(listener: () => void): void {
    if (this.settled) listener();
    else this.settledListeners.push(listener);
  }

  private maybeSettled(): void {
    if (!this.settled) return;
    const listeners = this.settledListeners;
    this.settledListeners = [];
    for (const listener of listeners) listener();
  }

  private abort(code: Status, details: string): void {
    if (!this.controller.signal.aborted) this.controller.abort(new ServerError(code, details));
  }
}
