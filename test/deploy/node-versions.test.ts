// The Node lines this project supports are named in five places, which must
// agree: the Makefile (the default line, the supported ones and the release it
// pins for each), package.json's engines, the container image, CI's legs and
// the README.
import { readFileSync } from "node:fs";
import path from "node:path";
import { PROJECT_ROOT } from "../support/commands";

const read = (file: string) => readFileSync(path.join(PROJECT_ROOT, file), "utf8");
const makefile = read("Makefile");
const variable = (name: string) => new RegExp(`^${name} [?:]?= *(.+)$`, "m").exec(makefile)?.[1]?.trim();

const defaultMajor = variable("NODE_MAJOR") as string;
const supported = (variable("NODE_MAJORS") as string).split(/\s+/);
const engines = (JSON.parse(read("package.json")) as { engines: { node: string } }).engines.node;
/** engines' ranges, as [major, minimum] of each `^major.minor.patch`. */
const ranges = engines.split("||").map((range) => {
  const match = /^\^(\d+)\.(\d+\.\d+)$/.exec(range.trim());
  if (match === null) throw new Error(`engines range ${range} is not ^major.minor.patch`);
  return [match[1] as string, `${match[1]}.${match[2]}`] as const;
});
const newer = (a: string, b: string) => {
  const [x, y] = [a, b].map((version) => version.split(".").map(Number));
  const i = (x as number[]).findIndex((part, index) => part !== (y as number[])[index]);
  return i >= 0 && (x as number[])[i]! > (y as number[])[i]!;
};

test("the default line is the newest supported one, and each supported line has a pinned release with its digest", () => {
  expect(defaultMajor).toBe("24");
  expect(supported[0]).toBe(defaultMajor);
  for (const major of supported) {
    expect(variable(`NODE_VERSION_${major}`)).toMatch(new RegExp(`^${major}\\.\\d+\\.\\d+$`));
    expect(variable(`NODE_INTEGRITY_${major}`)).toMatch(/^sha512-[A-Za-z0-9+/]{86}==$/);
  }
});

test("engines allows exactly the supported lines, each from a release at or below the one pinned", () => {
  expect(ranges.map(([major]) => major)).toEqual(supported);
  for (const [major, minimum] of ranges)
    expect(newer(minimum, variable(`NODE_VERSION_${major}`) as string)).toBe(false);
});

test("the container image runs on the default line", () => {
  const bases = [...read("deploy/Dockerfile").matchAll(/^FROM\s+(\S+)/gm)].map((match) => match[1]);
  expect(bases.length).toBeGreaterThan(0);
  for (const base of bases) expect(base).toMatch(new RegExp(`^node:${defaultMajor}-`));
});

test("CI runs the suite on every supported line", () => {
  const legs = new Set([...read(".ci/run").matchAll(/^\s*leg (\d+) /gm)].map((match) => match[1]));
  expect([...legs].sort()).toEqual([...supported].sort());
});

test("the README names the same lines and engines", () => {
  const readme = read("README.md");
  expect(readme).toContain(`\`engines\` in \`package.json\` says the same (\`${engines}\`)`);
  for (const major of supported) expect(readme).toMatch(new RegExp(`^\\| ${major} \\|`, "m"));
});
