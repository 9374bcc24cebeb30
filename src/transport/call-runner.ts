// Starts a call that a protocol (grpc-protocol.ts, and the web protocols)
// has read the headers of: makes its scope (request id, deadline, one signal),
// refuses it when it must not run, and otherwise runs it (method-adapter.ts)
// inside the scope, so code anywhere in the handler finds its call
// (src/shared/request-context.ts). Every call is observed once here: when it
// starts, each message each way, and its status.
import type { IncomingHttpHeaders } from "node:http2";
import { Metadata, ServerError, Status, type CallContext } from "nice-grpc-common";
import { InvalidMessageError } from "../shared/invalid-message";
import type { ScopeContext } from "../shared/request-scope";
import type { DescribeStatus } from "../shared/status-details";
import { runInCall } from "../shared/request-context";
import { CANCELLED_MESSAGE, DEADLINE_EXCEEDED_MESSAGE, SHUTTING_DOWN_MESSAGE } from "../shared/status-messages";
import { CallScope } from "./call-scope";
import {
  deadlineOf,
  requestIdFrom,
  REQUEST_ID_HEADER,
  type CallObserver,
  type CallTracker,
  type DeadlinePolicy,
} from "./call-tracker";
import type { Envelope } from "./envelope";
import type { ParsedTimeout } from "./grpc-timeout";
import { runMethod, type Responder, type RunningCall } from "./method-adapter";
import { RequestMetadata } from "./request-metadata";
import { RequestQueue, type QueueFlow } from "./request-queue";
import { encodeRpcStatus } from "./rpc-status";
import type { RegisteredMethod } from "./service-registry";

/**
 * The most request metadata a call may carry (HTTP/2's count: name + value
 * + 32 bytes per field): more is RESOURCE_EXHAUSTED. A bearer token and a
 * request id use a few KiB at most.
 */
export const MAX_HEADER_BYTES = 16 * 1024;

/** The largest request message, before and after decompression: gRPC's default. */
export const MAX_REQUEST_MESSAGE_BYTES = 4 * 1024 * 1024;

/** What a request stream still read after its call answered OK throws. */
const CALL_ENDED = new ServerError(Status.CANCELLED, "the call has ended");

/** A budget under a millisecond cannot do any work: such a call is expired on arrival. */
const SMALLEST_BUDGET_MS = 1;

export interface CallRunnerOptions {
  readonly deadlines: DeadlinePolicy;
  readonly calls: CallTracker;
  readonly observer: CallObserver;
  /** The error details of statuses the transport gives on its own; none when absent. */
  readonly describeStatus?: DescribeStatus;
  /** An error a handler threw that is not a status (answered UNKNOWN). */
  readonly onUnexpectedError: (error: unknown, method: string, requestId: string) => void;
}

/** What a protocol sends back, however it frames it. */
export interface CallChannel extends Responder {
  /** Sends the status and ends the response (the headers have gone out). */
  sendStatus(code: Status, message: string, trailer: Metadata | undefined): void;
}

/** What a protocol read off the request's headers. */
export interface IncomingCall {
  readonly headers: IncomingHttpHeaders;
  /** Header names that are the protocol's, not metadata. */
  readonly protocolHeaders: ReadonlySet<string>;
  readonly timeout: ParsedTimeout;
  /** The header the timeout came in, to name it when it is malformed. */
  readonly timeoutHeader: string;
  /** The size of the header list as HTTP/2 counts it (name + value + 32 per field). */
  readonly headerBytes: number;
  readonly peer: string;
  /** Stops and resumes reading request messages off the connection. */
  readonly flow: QueueFlow;
  readonly unwrap: (envelope: Envelope) => Promise<Buffer> | Buffer;
}

/** What the protocol reports to a started call. */
export interface CallInput {
  /** A request message arrived. */
  message(envelope: Envelope): void;
  /** The client half-closed. */
  end(): void;
  /** The client went away (reset the stream, lost the connection) or the request broke: `error` ends the call. */
  abort(error?: ServerError): void;
}

export function startCall(
  method: RegisteredMethod,
  incoming: IncomingCall,
  channel: CallChannel,
  options: CallRunnerOptions,
): CallInput {
  const { calls, observer } = options;
  const requestId = requestIdFrom(incoming.headers[REQUEST_ID_HEADER]);
  const budgetMs = incoming.timeout.kind === "timeout" ? incoming.timeout.ms : undefined;
  const requests = new RequestQueue(incoming.flow);
  // The response headers carry the request id, and go out ahead of the
  // status when the call fails too, so a client always sees it.
  const header = Metadata({ [REQUEST_ID_HEADER]: requestId });
  let headerSent = false;

  const scope: CallScope = new CallScope({
    requestId,
    method,
    peer: incoming.peer,
    deadline: deadlineOf(method, budgetMs, options.deadlines),
    endCall: (code, message) => refuse(new ServerError(code, message)),
  });
  const responder: Responder = {
    sendHeader(metadata) {
      if (headerSent || scope.code !== undefined) return;
      headerSent = true;
      channel.sendHeader(metadata);
    },
    write(bytes) {
      // After a status the transport sent on its own (deadline, shutdown),
      // what the handler still writes has nowhere to go.
      if (scope.code !== undefined) return true;
      scope.sent += 1;
      observer.messageSent(scope);
      if (!headerSent) responder.sendHeader(header);
      return channel.write(bytes);
    },
    ready: (signal) => channel.ready(signal),
  };
  function finish(code: Status, message: string, trailer: Metadata | undefined): void {
    if (scope.code !== undefined) return;
    responder.sendHeader(header);
    channel.sendStatus(code, message, trailer);
    // Whatever still reads the request learns the call is over.
    requests.fail(code === Status.OK ? CALL_ENDED : new ServerError(code, message));
    scope.statusSent(code);
    observer.callEnded(scope, code);
  }
  function refuse(error: ServerError): void {
    const { code, details: message } = error;
    const fieldViolation =
      error instanceof InvalidMessageError && error.field !== undefined
        ? { field: error.field, description: error.description }
        : undefined;
    const details = options.describeStatus?.({ code, message, requestId, fieldViolation });
    const trailer =
      details === undefined || details.length === 0
        ? undefined
        : Metadata({ "grpc-status-details-bin": encodeRpcStatus({ code, message, details }) });
    finish(code, message, trailer);
  }

  calls.open.add(scope);
  scope.onSettled(() => calls.open.delete(scope));
  observer.callStarted(scope);

  const input: CallInput = {
    message(envelope) {
      if (scope.code !== undefined) return;
      scope.received += 1;
      observer.messageReceived(scope);
      requests.push(envelope);
    },
    end: () => requests.end(),
    abort(error) {
      if (scope.code !== undefined) return;
      if (error !== undefined) return refuse(error);
      requests.fail(new ServerError(Status.CANCELLED, CANCELLED_MESSAGE));
      observer.callEnded(scope, Status.CANCELLED);
      scope.cancelled();
    },
  };

  const refusal = refusalOf(incoming, budgetMs, calls);
  if (refusal !== undefined) {
    refuse(refusal);
    return input;
  }

  const context: CallContext & ScopeContext = {
    metadata: new RequestMetadata(incoming.headers, incoming.protocolHeaders),
    peer: incoming.peer,
    header,
    sendHeader: () => responder.sendHeader(header),
    trailer: Metadata(),
    signal: scope.signal,
    scope,
  };
  const call: RunningCall = {
    method,
    scope,
    context,
    requests,
    unwrap: incoming.unwrap,
    responder,
    finish,
    refuse,
    unexpected(error) {
      options.onUnexpectedError(error, method.path, requestId);
      finish(Status.UNKNOWN, "Unknown server error occurred", context.trailer);
    },
  };
  void runInCall(scope, runMethod, call);
  return input;
}

/** Why the call must not run, or undefined when it may. */
function refusalOf(incoming: IncomingCall, budgetMs: number | undefined, calls: CallTracker): ServerError | undefined {
  if (incoming.headerBytes > MAX_HEADER_BYTES)
    return new ServerError(Status.RESOURCE_EXHAUSTED, `request headers exceed ${MAX_HEADER_BYTES / 1024} KiB`);
  if (incoming.timeout.kind === "malformed")
    return new ServerError(Status.INVALID_ARGUMENT, `the ${incoming.timeoutHeader} header is malformed`);
  if (budgetMs !== undefined && budgetMs < SMALLEST_BUDGET_MS)
    return new ServerError(Status.DEADLINE_EXCEEDED, DEADLINE_EXCEEDED_MESSAGE);
  if (calls.closing) return new ServerError(Status.UNAVAILABLE, SHUTTING_DOWN_MESSAGE);
  return undefined;
}
