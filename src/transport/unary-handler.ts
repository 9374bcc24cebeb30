// The grpc-js handler of a unary method. It does what nice-grpc's own adapter
// (nice-grpc/lib/server/handleUnaryCall) does: run the middleware chain and
// the implementation as one async generator, take the message it returns,
// and answer with it and the trailer, or with the error's status. It differs
// in the context it gives the chain (call-context.ts: the call scope's signal
// and the request metadata read in place, where nice-grpc makes an
// AbortController, three event listeners and two metadata copies per call),
// and in sending a trailer only when a step set one.
import type { sendUnaryData, ServerUnaryCall, UntypedHandleCall } from "@grpc/grpc-js";
import type { CallContext, ServerMiddleware } from "nice-grpc-common";
import { contextOfCall, singleRequestChain } from "./method-chain";
import { createErrorStatusObject, type AnyMethod, type MethodImplementation } from "./nice-grpc-internals";

type UnaryImplementation = (request: unknown, context: CallContext) => Promise<unknown>;

export function createUnaryHandler(
  definition: AnyMethod,
  implementation: MethodImplementation,
  middleware: ServerMiddleware<unknown, unknown> | undefined,
): UntypedHandleCall {
  const implement = implementation as unknown as UnaryImplementation;
  // The chain's last step is an async generator, as nice-grpc's middleware
  // expects of `next`; a unary one returns its message and yields nothing.
  // eslint-disable-next-line require-yield
  async function* respondWith(request: unknown, context: CallContext): AsyncGenerator<never, unknown, undefined> {
    return await implement(request, context);
  }
  const handle = singleRequestChain(definition, middleware, respondWith);

  return (call: ServerUnaryCall<unknown, unknown>, callback: sendUnaryData<unknown>) => {
    const context = contextOfCall(call);

    async function respond(): Promise<unknown> {
      const iterator = handle(call.request, context);
      try {
        let result = await iterator.next();
        for (;;) {
          if (!result.done) {
            result = await iterator.throw(new Error("A middleware yielded a message from a unary method"));
          } else if (result.value == null) {
            result = await iterator.throw(new Error("A middleware returned no message from a unary method"));
          } else {
            return result.value;
          }
        }
      } finally {
        context.sendHeader();
      }
    }

    respond().then(
      (response) => callback(null, response, context.trailerToSend()),
      (error: unknown) => callback(createErrorStatusObject(definition.path, error, context.trailerToSend())),
    );
  };
}
