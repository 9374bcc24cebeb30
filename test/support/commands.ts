// Runs the project's real tools (buf, make) as child processes for tests.
import { execFile } from "node:child_process";
import path from "node:path";

export const PROJECT_ROOT = path.resolve(__dirname, "../..");
export const BUF = path.join(PROJECT_ROOT, "node_modules/.bin/buf");

export interface CommandResult {
  readonly code: number;
  /** stdout and stderr together, as a person would read them. */
  readonly output: string;
}

export function runCommand(file: string, args: readonly string[], cwd: string): Promise<CommandResult> {
  return new Promise((resolve) => {
    execFile(file, args, { cwd, timeout: 120_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : 1;
      resolve({ code, output: `${stdout}${stderr}` });
    });
  });
}
