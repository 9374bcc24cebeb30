// The grpc-js handler of a server-streaming method. It does what nice-grpc's
// own adapter (nice-grpc/lib/server/handleServerStreamingCall) does: run the
// middleware chain and the implementation as one async generator, write each
// message it yields, wait for grpc-js to drain when its buffer is full, and
// end the call with the trailer or the error's status. It takes the same
// context as the unary handler (call-context.ts), and differs in two more
// ways, both for messages per second:
// - a yielded message batch (message-batch.ts) is written message by message
//   here, so a page of messages crosses the chain's generators once, each
//   encoded here when the batch says it is complete;
// - the implementation is the chain's last `next` as it is, not wrapped in
//   one more generator layer that every message would resume.
import type { ServerWritableStream, UntypedHandleCall } from "@grpc/grpc-js";
import { isAbortError, throwIfAborted, waitForEvent } from "abort-controller-x";
import type { ServerMiddleware } from "nice-grpc-common";
import { batchContents } from "./message-batch";
import { contextOfCall, singleRequestChain, type ChainStep } from "./method-chain";
import { createErrorStatusObject, type AnyMethod, type MethodImplementation } from "./nice-grpc-internals";

export function createServerStreamingHandler(
  definition: AnyMethod,
  implementation: MethodImplementation,
  middleware: ServerMiddleware<unknown, unknown> | undefined,
): UntypedHandleCall {
  // The implementation is the chain's last step as it is (an async generator).
  const handle = singleRequestChain(definition, middleware, implementation as unknown as ChainStep);

  return (call: ServerWritableStream<unknown, unknown>) => {
    const context = contextOfCall(call);

    /** Writes one yielded item, a message or a batch of them, waiting for grpc-js to drain when it asks to. */
    async function send(item: unknown): Promise<void> {
      context.sendHeader();
      const batch = batchContents(item);
      if (batch === undefined) {
        if (!call.write(item)) await waitForEvent(context.signal, call, "drain");
        return;
      }
      const { messages, encode } = batch;
      for (const message of messages) {
        // A batch stops where the client went away, as a single message's
        // drain does: the AbortError ends the handler (iterator.return()).
        throwIfAborted(context.signal);
        // An encoded message goes out as its bytes (grpc-server.ts).
        if (!call.write(encode === undefined ? message : encode(message))) {
          await waitForEvent(context.signal, call, "drain");
        }
      }
    }

    void Promise.resolve()
      .then(async () => {
        const iterator = handle(call.request, context);
        try {
          let result = await iterator.next();
          for (;;) {
            if (!result.done) {
              try {
                await send(result.value);
              } catch (error) {
                result = isAbortError(error) ? await iterator.return(undefined) : await iterator.throw(error);
                continue;
              }
              result = await iterator.next();
              continue;
            }
            if (result.value != null) {
              result = await iterator.throw(
                new Error("A server-streaming method returned a message instead of yielding it"),
              );
              continue;
            }
            break;
          }
        } finally {
          context.sendHeader();
        }
      })
      .then(
        () => call.end(context.trailerToSend()),
        (error: unknown) =>
          call.emit("error", createErrorStatusObject(definition.path, error, context.trailerToSend())),
      );
  };
}
