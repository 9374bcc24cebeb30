// ESLint: typescript-eslint's type-checked rules over src/ and test/;
// formatting is Prettier's alone (eslint-config-prettier turns off the rules
// that would fight it). `make lint` runs both.
import eslint from "@eslint/js";
import prettier from "eslint-config-prettier";
import tseslint from "typescript-eslint";

/** An import of a package's lib/ or build/ folder (its compiled internals), scoped or not. */
const DEEP_IMPORT = "^(@[^/]+\\/)?[^./@][^/]*\\/(lib|build)(\\/|$)";
const DEEP_IMPORT_MESSAGE = "import a dependency through its public entry points, not its lib/ or build/ files";

export default tseslint.config(
  // consumer.ts compiles against the installed package only (test/client/consumer.test.ts), and the
  // browser page against code generated when the test runs (test/browser/bundle.ts).
  {
    ignores: [
      "gen/",
      "dist/",
      "coverage/",
      "node_modules/",
      ".cache/",
      "drizzle/",
      "test/client/consumer/consumer.ts",
      "test/browser/page.ts",
    ],
  },
  eslint.configs.recommended,
  tseslint.configs.recommendedTypeChecked,
  {
    languageOptions: {
      parserOptions: {
        projectService: { allowDefaultProject: ["drizzle.config.ts", "eslint.config.mjs"] },
        tsconfigRootDir: import.meta.dirname,
      },
    },
    rules: {
      // `_` names a value that must be taken but is not used (a loop variable that only counts).
      "@typescript-eslint/no-unused-vars": ["error", { argsIgnorePattern: "^_", varsIgnorePattern: "^_" }],
      // A dependency's files outside its entry points are its internals: they change without notice.
      "no-restricted-imports": ["error", { patterns: [{ regex: DEEP_IMPORT, message: DEEP_IMPORT_MESSAGE }] }],
      "no-restricted-syntax": [
        "error",
        {
          selector: `CallExpression[callee.name='require'] > Literal[value=/${DEEP_IMPORT}/]`,
          message: DEEP_IMPORT_MESSAGE,
        },
        { selector: `ImportExpression > Literal[value=/${DEEP_IMPORT}/]`, message: DEEP_IMPORT_MESSAGE },
      ],
    },
  },
  {
    // Test doubles implement async interfaces with bodies that need no await,
    // and jest's asymmetric matchers (expect.any(), expect.stringMatching()) are typed `any`.
    files: ["test/**/*.ts"],
    rules: {
      "@typescript-eslint/require-await": "off",
      "require-yield": "off",
      "@typescript-eslint/no-unsafe-assignment": "off",
    },
  },
  {
    files: ["**/*.js", "**/*.cjs", "**/*.mjs"],
    extends: [tseslint.configs.disableTypeChecked],
    // CommonJS files load their dependencies with require().
    rules: { "@typescript-eslint/no-require-imports": "off" },
    languageOptions: {
      globals: {
        require: "readonly",
        module: "writable",
        process: "readonly",
        console: "readonly",
        __dirname: "readonly",
        Buffer: "readonly",
      },
    },
  },
  prettier,
);
