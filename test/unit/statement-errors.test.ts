import { refusedByDatabase } from "../../src/db/statement-errors";

const withCode = (code: string) => Object.assign(new Error("driver text"), { code });

test.each([
  ["a constraint the database checked", withCode("23514"), true],
  ["a cancelled statement", withCode("57014"), true],
  ["a SQLSTATE under Drizzle's wrapper", Object.assign(new Error("Failed query"), { cause: withCode("22P02") }), true],
  ["a connection reset", withCode("ECONNRESET"), false],
  ["a connection closed by postgres.js", withCode("CONNECTION_CLOSED"), false],
  ["a connection-class SQLSTATE", withCode("08006"), false],
  ["an administrator's shutdown", withCode("57P01"), false],
  ["an error with no code", new Error("something else"), false],
])("%s", (_, error, refused) => {
  expect(refusedByDatabase(error)).toBe(refused);
});
