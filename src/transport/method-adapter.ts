// Runs one call of any kind through its method's chain (service-registry.ts):
// reads the request (one message, or a stream of them), hands it to the
// middleware chain and the implementation, writes what they answer or yield,
// and ends the call with its status. One adapter for the four call kinds, as
// nice-grpc has one per kind; the differences are where the request comes
// from and whether the answer is one message or a stream.
//
// A request message that cannot be read never reaches the chain as a value
// of its type: a single-message call is refused before the chain runs, and a
// request stream throws InvalidMessageError at that message.
import { isAbortError } from "abort-controller-x";
import { ServerError, Status, type CallContext, type Metadata } from "nice-grpc-common";
import { EncodedMessage, MessageBatch } from "../shared/messages";
import type { ScopeContext } from "../shared/request-scope";
import type { CallScope } from "./call-scope";
import type { Envelope } from "./envelope";
import type { RequestQueue } from "./request-queue";
import type { RegisteredMethod } from "./service-registry";

/** How the call's response goes out, whichever protocol carries it. */
export interface Responder {
  /** Sends the response headers with this metadata, unless they went out already. */
  sendHeader(metadata: Metadata): void;
  /** Writes one message; false when the client is behind and the writer should wait for ready(). */
  write(bytes: Uint8Array): boolean;
  /** Resolves once the client has taken what was written; rejects when `signal` aborts first. */
  ready(signal: AbortSignal): Promise<void>;
}

export interface RunningCall {
  readonly method: RegisteredMethod;
  readonly scope: CallScope;
  readonly context: CallContext & ScopeContext;
  readonly requests: RequestQueue;
  /** A request message's bytes, decompressed when its envelope says so. */
  readonly unwrap: (envelope: Envelope) => Promise<Buffer> | Buffer;
  readonly responder: Responder;
  /** Ends the call with the status the chain decided, unless one was sent. */
  finish(code: Status, message: string, trailer: Metadata | undefined): void;
  /** Ends the call with a status of the transport's own (the chain never ran or said nothing of it). */
  refuse(error: ServerError): void;
  /** An error the chain threw that is not a status: logged, answered UNKNOWN. */
  unexpected(error: unknown): void;
}

export async function runMethod(call: RunningCall): Promise<void> {
  const { method, scope, context } = call;
  scope.handlerStarted();
  try {
    let request: unknown;
    try {
      request = method.requestStream ? requestStream(call) : await singleRequest(call);
    } catch (error) {
      if (error instanceof ServerError) call.refuse(error);
      else call.unexpected(error);
      return;
    }
    // Stopped while the request was read (deadline, cancel, shutdown): no work for it.
    if (scope.code !== undefined || scope.signal.aborted) return;
    try {
      const results = method.chain(request, context);
      if (method.responseStream) await writeStream(call, results);
      else await answer(call, results);
    } catch (error) {
      endWithError(call, error);
      return;
    }
    call.finish(Status.OK, "", context.trailer);
  } finally {
    scope.handlerFinished();
  }
}

async function singleRequest(call: RunningCall): Promise<unknown> {
  const first = await call.requests.take();
  if (first === undefined) throw new ServerError(Status.INVALID_ARGUMENT, "the request has no message");
  // A single-message call starts once the client has half-closed.
  if ((await call.requests.take()) !== undefined)
    throw new ServerError(Status.INVALID_ARGUMENT, "the request has more than one message");
  const decoded = call.method.codec.decodeRequest(await call.unwrap(first), 0);
  if (!decoded.ok) throw decoded.error;
  return decoded.message;
}

async function* requestStream(call: RunningCall): AsyncGenerator<unknown, void, undefined> {
  for (let index = 0; ; index += 1) {
    const envelope = await call.requests.take();
    if (envelope === undefined) return;
    const decoded = call.method.codec.decodeRequest(await call.unwrap(envelope), index);
    if (!decoded.ok) throw decoded.error;
    yield decoded.message;
  }
}

async function answer(call: RunningCall, results: AsyncGenerator<unknown, unknown, undefined>): Promise<void> {
  const result = await results.next();
  if (!result.done) throw new Error(`A middleware yielded a message from ${call.method.path}, which answers one`);
  if (result.value == null) throw new Error(`${call.method.path} answered no message`);
  call.responder.write(encodeAnswer(call, result.value));
}

async function writeStream(call: RunningCall, results: AsyncGenerator<unknown, unknown, undefined>): Promise<void> {
  const { scope } = call;
  let result = await results.next();
  while (!result.done) {
    try {
      await send(call, result.value);
    } catch (error) {
      // The client went away or the call ended: the handler's finally blocks run, nothing more is sent.
      result =
        scope.signal.aborted || isAbortError(error) ? await results.return(undefined) : await results.throw(error);
      continue;
    }
    result = await results.next();
  }
  if (result.value != null) throw new Error(`${call.method.path} returned a message instead of yielding it`);
}

/** Writes one yielded item, a message or a batch of them, waiting whenever the client is behind. */
async function send(call: RunningCall, item: unknown): Promise<void> {
  const { responder, scope } = call;
  call.context.sendHeader();
  if (!(item instanceof MessageBatch)) {
    if (!responder.write(call.method.codec.encodeResponse(item))) await responder.ready(scope.signal);
    return;
  }
  const batch = item as MessageBatch<unknown>;
  const encoder = batch.completeOf;
  for (const message of batch.messages) {
    // A batch stops where the client went away, as a single message's wait does.
    scope.signal.throwIfAborted();
    const bytes = encoder === undefined ? call.method.codec.encodeResponse(message) : encoder.encode(message).finish();
    if (!responder.write(bytes)) await responder.ready(scope.signal);
  }
}

function encodeAnswer(call: RunningCall, answer: unknown): Uint8Array {
  return answer instanceof EncodedMessage
    ? (answer as EncodedMessage<unknown>).bytes
    : call.method.codec.encodeResponse(answer);
}

/** As nice-grpc: a ServerError is the status; an AbortError is CANCELLED; anything else UNKNOWN. */
function endWithError(call: RunningCall, error: unknown): void {
  const { context } = call;
  if (error instanceof ServerError) call.finish(error.code, error.details, context.trailer);
  else if (isAbortError(error)) call.finish(Status.CANCELLED, "The operation was cancelled", context.trailer);
  else call.unexpected(error);
}
