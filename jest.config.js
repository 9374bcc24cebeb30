// Jest runs the TypeScript sources through ts-jest in transpile-only mode
// (tsconfig's isolatedModules); `make lint` runs the type check.
//
// postgres.js 4 ships only ES modules. The compiled server loads it with
// Node's require(esm) (Node 20.19 and later), but Jest's module registry
// does that only on Node 24.9 and later; before, Jest's documented way is to
// transform the package to CommonJS, so it is transformed (by ts-jest, which
// is here anyway: its js-with-ts preset compiles JavaScript with allowJs) and
// left out of transformIgnorePatterns.
/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: {
    "^.+\\.ts$": ["ts-jest", {}],
    "/node_modules/postgres/.+\\.js$": ["ts-jest", { tsconfig: { allowJs: true, isolatedModules: true } }],
  },
  transformIgnorePatterns: ["/node_modules/(?!postgres/)"],
  testTimeout: 60_000,
};
