// The layers of src/ and the way they import (`make lint` runs this):
//
//   composition and operations (main, server, shutdown, cli/, health/, observability/)
//     → transport → middleware → services (and auth) → repos → db
//       → shared (types and rules every layer may use, config, gen/)
//
// A module may import its own layer and the layers below it, never one above;
// no import cycles. The typed client (src/client) is shipped to other
// services on its own, so it imports only shared code and gen/.
/** @type {import('dependency-cruiser').IConfiguration} */

const LAYERS = [
  { name: "app", path: "^src/(main|server|shutdown)\\.ts$|^src/(cli|health|observability)/" },
  { name: "transport", path: "^src/transport/" },
  { name: "middleware", path: "^src/middleware/" },
  { name: "services", path: "^src/(services|auth)/" },
  { name: "repos", path: "^src/repos/" },
  { name: "db", path: "^src/db/" },
  { name: "shared", path: "^src/(shared/|config\\.ts$)|^gen/" },
];

/** Layer i may not import any layer above it (0 … i-1). */
const upwardImports = LAYERS.flatMap((layer, index) =>
  index === 0
    ? []
    : [
        {
          name: `no-upward-import-from-${layer.name}`,
          comment: `${layer.name} imports only its own layer and the layers below it`,
          severity: "error",
          from: { path: layer.path },
          to: {
            path: LAYERS.slice(0, index)
              .map((above) => `(${above.path})`)
              .join("|"),
          },
        },
      ],
);

module.exports = {
  forbidden: [
    {
      name: "no-circular",
      comment: "modules that import each other cannot be read, tested or changed one at a time",
      severity: "error",
      from: {},
      to: { circular: true },
    },
    ...upwardImports,
    {
      name: "client-imports-only-shared-code",
      comment: "src/client ships to other services: it must not pull in the server",
      severity: "error",
      from: { path: "^src/client/" },
      to: { path: "^src/", pathNot: "^src/(client/|shared/)" },
    },
    {
      name: "every-module-is-in-a-layer",
      comment: "a new file of src/ belongs to a layer: add it to LAYERS in .dependency-cruiser.cjs",
      severity: "error",
      from: { path: "^src/", pathNot: [...LAYERS.map((layer) => layer.path), "^src/client/"] },
      to: {},
    },
  ],
  options: {
    doNotFollow: { path: "node_modules" },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: "tsconfig.json" },
    exclude: { path: "^(dist|node_modules)/" },
  },
};
