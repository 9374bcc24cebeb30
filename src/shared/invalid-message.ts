// A request message the transport could not read. It never reaches a handler
// as a value of its request type: a single-message call is refused before
// its middleware runs, and a request stream throws this from the handler's
// `for await` at the message that failed. As a ServerError it answers
// INVALID_ARGUMENT wherever nothing maps it more precisely.
import { ServerError, Status } from "nice-grpc-common";

export class InvalidMessageError extends ServerError {
  constructor(
    /** The request field at fault (its proto name), or undefined when the message as a whole is unreadable. */
    readonly field: string | undefined,
    /** What is wrong, e.g. "is not valid UTF-8". */
    readonly description: string,
    /** Its position in the request stream (0 for a single-message call). */
    readonly index: number,
  ) {
    super(Status.INVALID_ARGUMENT, field === undefined ? description : `${field}: ${description}`);
    this.name = "InvalidMessageError";
  }
}
