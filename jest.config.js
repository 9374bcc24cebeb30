// Jest runs the TypeScript sources through ts-jest in transpile-only mode
// (tsconfig's isolatedModules); `make lint` runs the type check.
//
// jose is published as ES modules only. Node loads it with require() (20.19+,
// 22.12+, 24), and so does jest's own module loader, but only on Node 24.9 and
// later; on older Node, jose's files are compiled to CommonJS as the tests are.
const [major, minor] = process.versions.node.split(".").map(Number);
const jestRequiresEsm = major > 24 || (major === 24 && minor >= 9);

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: {
    "^.+\\.ts$": ["ts-jest", {}],
    ...(jestRequiresEsm ? {} : { "/node_modules/jose/.+\\.js$": ["ts-jest", { tsconfig: { allowJs: true } }] }),
  },
  ...(jestRequiresEsm ? {} : { transformIgnorePatterns: ["/node_modules/(?!jose/)"] }),
  testTimeout: 60_000,
};
