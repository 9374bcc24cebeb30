// The messages of the statuses a call can end with for reasons of its own
// (not its request's): the same words whichever layer decides them.
export const DEADLINE_EXCEEDED_MESSAGE = "deadline exceeded";
export const SHUTTING_DOWN_MESSAGE = "server shutting down";
export const CANCELLED_MESSAGE = "call cancelled";
