// Failures become statuses in one place: domain errors and PostgreSQL's
// SQLSTATEs (found anywhere along the cause chain, as Drizzle wraps them)
// map to a code, a message of the service's own words and a stable reason;
// anything else maps to nothing here, and the middleware answers INTERNAL.
import { Status } from "nice-grpc-common";
import { InvalidArgumentError, NotFoundError } from "../../src/shared/errors";
import { mapError } from "../../src/middleware/errors";

const withCode = (code: string, message = "driver text that must not leak") =>
  Object.assign(new Error(message), { code });
const wrapped = (cause: unknown) => new Error("Failed query: SELECT secret FROM t", { cause });

describe("mapError", () => {
  test.each([
    [
      "an invalid field",
      new InvalidArgumentError("name", "must not be empty"),
      Status.INVALID_ARGUMENT,
      "name: must not be empty",
      "INVALID_FIELD",
    ],
    [
      "an unknown product",
      new NotFoundError("product x not found"),
      Status.NOT_FOUND,
      "product x not found",
      "PRODUCT_NOT_FOUND",
    ],
    [
      "a unique violation",
      withCode("23505"),
      Status.ALREADY_EXISTS,
      "a product with that key already exists",
      "ALREADY_EXISTS",
    ],
    [
      "a serialization failure",
      withCode("40001"),
      Status.ABORTED,
      "the request conflicted with a concurrent change; retry it",
      "CONFLICT",
    ],
    [
      "a deadlock",
      withCode("40P01"),
      Status.ABORTED,
      "the request conflicted with a concurrent change; retry it",
      "CONFLICT",
    ],
    ["a cancelled statement", withCode("57014"), Status.DEADLINE_EXCEEDED, "deadline exceeded", "DEADLINE_EXCEEDED"],
    [
      "an admin shutdown",
      withCode("57P01"),
      Status.UNAVAILABLE,
      "the database is unavailable; retry later",
      "DATABASE_UNAVAILABLE",
    ],
    [
      "a connection exception",
      withCode("08006"),
      Status.UNAVAILABLE,
      "the database is unavailable; retry later",
      "DATABASE_UNAVAILABLE",
    ],
    [
      "too many connections",
      withCode("53300"),
      Status.UNAVAILABLE,
      "the database is unavailable; retry later",
      "DATABASE_UNAVAILABLE",
    ],
    [
      "a refused connection",
      withCode("ECONNREFUSED"),
      Status.UNAVAILABLE,
      "the database is unavailable; retry later",
      "DATABASE_UNAVAILABLE",
    ],
    [
      "a data exception",
      withCode("22P02"),
      Status.INVALID_ARGUMENT,
      "the database refused a value in the request",
      "DATABASE_REFUSED_VALUE",
    ],
    [
      "a check violation",
      withCode("23514"),
      Status.INVALID_ARGUMENT,
      "the database refused a value in the request",
      "DATABASE_REFUSED_VALUE",
    ],
    [
      "a SQLSTATE two causes deep",
      wrapped(wrapped(withCode("23505"))),
      Status.ALREADY_EXISTS,
      "a product with that key already exists",
      "ALREADY_EXISTS",
    ],
  ])("%s", (_, error, code, message, reason) => {
    expect(mapError(error)).toEqual(expect.objectContaining({ code, message, reason }));
    expect(mapError(error)?.message).not.toContain("driver text");
  });

  test.each([
    ["a plain error", new Error("boom")],
    ["an unmapped SQLSTATE", withCode("42P01")],
    ["a code that is no SQLSTATE", withCode("ERR_SOMETHING")],
    ["not an error at all", "a string"],
    ["nothing", undefined],
  ])("%s maps to nothing (INTERNAL)", (_, error) => {
    expect(mapError(error)).toBeUndefined();
  });

  test("a cause chain that loops ends", () => {
    const a = new Error("a");
    const b = new Error("b", { cause: a });
    (a as { cause?: unknown }).cause = b;
    expect(mapError(a)).toBeUndefined();
  });
});
