// Jest runs the TypeScript sources through ts-jest in transpile-only mode
// (tsconfig's isolatedModules); `make lint` runs the type check.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: { "^.+\\.ts$": ["ts-jest", {}] },
  testTimeout: 60_000,
};
