// An error and the errors it wraps. Drizzle wraps a driver's error in its
// own ("Failed query: …", with the driver's as `cause`), and this service
// wraps some in turn, so what an error means is found by looking down its
// `cause` chain.

/** Deep enough for every wrapping seen here; a longer chain (or a cycle) is cut off. */
const MAX_DEPTH = 8;

/** `error`, then its cause, then that one's, while each is an object. */
export function* errorCauses(error: unknown): Generator<object, void, undefined> {
  let current = error;
  for (let depth = 0; depth < MAX_DEPTH && current !== null && typeof current === "object"; depth += 1) {
    yield current;
    current = (current as { cause?: unknown }).cause;
  }
}

/** The `code` an error carries (a SQLSTATE, a Node.js or driver code), when it is a string. */
export function errorCode(error: object): string | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === "string" ? code : undefined;
}
