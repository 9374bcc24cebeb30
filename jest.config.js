// Jest runs the TypeScript sources through ts-jest in transpile-only mode
// (tsconfig's isolatedModules); `make lint` runs the type check.
//
// jose 6 and postgres.js 4 are published as ES modules only. Node loads them
// with require() (20.19+, 22.12+, 24), and so does Jest's own module loader,
// but only on Node 24.9 and later; on older Node their files are compiled to
// CommonJS as the tests are (Jest's documented way: transform the package, and
// leave it out of transformIgnorePatterns).
const ESM_ONLY = ["jose", "postgres"];
const [major, minor] = process.versions.node.split(".").map(Number);
const jestRequiresEsm = major > 24 || (major === 24 && minor >= 9);
const packages = ESM_ONLY.join("|");

/** @type {import('jest').Config} */
module.exports = {
  testEnvironment: "node",
  roots: ["<rootDir>/test"],
  testMatch: ["**/*.test.ts"],
  transform: {
    "^.+\\.ts$": ["ts-jest", {}],
    ...(jestRequiresEsm
      ? {}
      : {
          [`/node_modules/(${packages})/.+\\.js$`]: ["ts-jest", { tsconfig: { allowJs: true, isolatedModules: true } }],
        }),
  },
  ...(jestRequiresEsm ? {} : { transformIgnorePatterns: [`/node_modules/(?!(${packages})/)`] }),
  testTimeout: 60_000,
};
