// Makes the call scope (call-scope.ts) of every call the server receives:
// health and reflection as much as ProductService, and calls that never reach
// a handler (a malformed or already-expired deadline, a stream reset before
// its handler ran, a shutdown in progress). As a grpc-js interceptor it sees
// the call from its headers to its status, so it is also where each call is
// observed once (log line, metrics) and where the response carries the
// request id. Everything grpc-js runs for the call (the nice-grpc handler
// included) runs inside the scope, entered once per event rather than per step.
import { randomUUID } from "node:crypto";
import { constants as http2Constants } from "node:http2";
import { Metadata, ServerInterceptingCall, type ServerInterceptor } from "@grpc/grpc-js";
import { Status } from "nice-grpc-common";
import { runInCall } from "../request-context";
import {
  CallScope,
  CANCELLED_MESSAGE,
  DEADLINE_EXCEEDED_MESSAGE,
  SHUTTING_DOWN_MESSAGE,
  type MethodInfo,
} from "./call-scope";
import { takeIncomingStream, type IncomingStream } from "./grpc-server";

export const REQUEST_ID_HEADER = "x-request-id";

// Bounded and plain, so a caller cannot inject into logs or headers.
const ACCEPTABLE_REQUEST_ID = /^[A-Za-z0-9._:-]{1,128}$/;

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

/** Sees every call once: when it starts, each message, and its status. */
export interface CallObserver {
  callStarted(scope: CallScope): void;
  callEnded(scope: CallScope, code: Status): void;
  messageReceived(scope: CallScope): void;
  messageSent(scope: CallScope): void;
}

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

export interface CallInterceptorOptions {
  readonly deadlines: DeadlinePolicy;
  readonly calls: CallTracker;
  readonly observer: CallObserver;
}

/**
 * The most request metadata a call may carry (HTTP/2's count: name + value
 * + 32 bytes per field): more is RESOURCE_EXHAUSTED. A bearer token and a
 * request id use a few KiB at most.
 * (A single field over 64 KiB never gets this far: HTTP/2's header decoder
 * refuses it and ends the connection with GOAWAY, which no status can follow.)
 */
export const MAX_HEADER_BYTES = 16 * 1024;

/** A budget under a millisecond cannot do any work: such a call is expired on arrival. */
const SMALLEST_BUDGET_MS = 1;

export function createCallInterceptor(options: CallInterceptorOptions): ServerInterceptor {
  const { deadlines, calls, observer } = options;

  return (descriptor, call) => {
    const incoming = takeIncomingStream();
    const method: MethodInfo = {
      path: descriptor.path,
      requestStream: descriptor.requestStream,
      responseStream: descriptor.responseStream,
    };
    let scope: CallScope | undefined;
    let headersSent = false;
    // Set when the call was refused before its handler started: later events are dropped.
    let refused = false;

    const intercepting: ServerInterceptingCall = new ServerInterceptingCall(call, {
      start(next) {
        next({
          onReceiveMetadata(metadata, nextMetadata) {
            const timeout = incoming?.timeout ?? { kind: "absent" };
            const budgetMs = timeout.kind === "timeout" ? timeout.ms : undefined;
            const requestId = requestIdFrom(metadata.get(REQUEST_ID_HEADER)[0]);
            scope = new CallScope({
              requestId,
              method,
              peer: call.getPeer(),
              deadline: deadlineOf(method, budgetMs, deadlines),
              endCall: (code, details) => {
                intercepting.sendStatus({ code, details, metadata: new Metadata() });
                resetUnlessRead(incoming);
              },
            });
            calls.open.add(scope);
            const opened = scope;
            scope.onSettled(() => calls.open.delete(opened));
            observer.callStarted(scope);

            if ((incoming?.headerBytes ?? 0) > MAX_HEADER_BYTES)
              return refuse(Status.RESOURCE_EXHAUSTED, `request headers exceed ${MAX_HEADER_BYTES / 1024} KiB`);
            if (timeout.kind === "malformed")
              return refuse(Status.INVALID_ARGUMENT, "the grpc-timeout header is malformed");
            if (budgetMs !== undefined && budgetMs < SMALLEST_BUDGET_MS)
              return refuse(Status.DEADLINE_EXCEEDED, DEADLINE_EXCEEDED_MESSAGE);
            if (calls.closing) return refuse(Status.UNAVAILABLE, SHUTTING_DOWN_MESSAGE);
            // Streaming requests start their handler with the headers.
            if (method.requestStream && streamGone(incoming)) return refuse(Status.CANCELLED, CANCELLED_MESSAGE);
            runInCall(scope, nextMetadata, metadata);
          },
          onReceiveMessage(message, nextMessage) {
            if (scope === undefined || refused) return;
            scope.received += 1;
            observer.messageReceived(scope);
            runInCall(scope, nextMessage, message);
          },
          onReceiveHalfClose(nextHalfClose) {
            if (scope === undefined || refused) return;
            // Unary and server-streaming handlers start here: a client that
            // reset the stream already (an HTTP/2 rapid reset) gets no work done.
            if (!method.requestStream && streamGone(incoming)) return refuse(Status.CANCELLED, CANCELLED_MESSAGE);
            runInCall(scope, nextHalfClose);
          },
          onCancel() {
            // After a status grpc-js reports a cancel too; only a client that
            // went away first (RST_STREAM, a lost connection) ends the call here.
            if (scope !== undefined && scope.code === undefined) {
              observer.callEnded(scope, Status.CANCELLED);
            }
            scope?.cancelled();
          },
        });
      },
      sendMetadata(metadata, next) {
        headersSent = true;
        if (scope !== undefined) metadata.set(REQUEST_ID_HEADER, scope.requestId);
        next(metadata);
      },
      sendMessage(message, next) {
        // After a status the transport sent on its own (deadline, shutdown),
        // what the handler still writes has nowhere to go: grpc-js has ended
        // the HTTP/2 stream, and a write after that would fail it before the
        // status went out. (Its write callback is not called: the call is over.)
        if (scope?.code !== undefined) return;
        if (scope !== undefined) {
          scope.sent += 1;
          observer.messageSent(scope);
        }
        next(message);
      },
      sendStatus(status, next) {
        if (scope === undefined || scope.code !== undefined) return next(status);
        // A status with no response before it would go out as trailers only:
        // headers go first, so a client sees the request id in them whether
        // the call succeeded or failed.
        if (!headersSent) intercepting.sendMetadata(new Metadata());
        scope.statusSent(status.code);
        observer.callEnded(scope, status.code);
        next(status);
      },
    });

    function refuse(code: Status, details: string): void {
      refused = true;
      scope?.end(code, details);
    }

    return intercepting;
  };
}

/**
 * A status the transport sent on its own waits behind the data already
 * queued; a client that does not read it within this time has its stream
 * reset, so the handler (waiting to write) ends rather than waiting for ever.
 */
const STATUS_READ_MS = 5_000;

function resetUnlessRead(incoming: IncomingStream | undefined): void {
  if (incoming === undefined || incoming.stream.closed) return;
  const { stream } = incoming;
  const timer = setTimeout(() => {
    if (!stream.closed) stream.close(http2Constants.NGHTTP2_CANCEL);
  }, STATUS_READ_MS);
  timer.unref();
  stream.once("close", () => clearTimeout(timer));
}

function streamGone(incoming: IncomingStream | undefined): boolean {
  return incoming !== undefined && (incoming.stream.closed || incoming.stream.destroyed);
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
