// Starts the real server entry (src/main.ts) in a child process, as `make run`
// does, and tells the test its port once it listens.
import { spawn, type ChildProcess } from "node:child_process";
import { once } from "node:events";
import path from "node:path";
import readline from "node:readline";
import { PROJECT_ROOT } from "../commands";

export interface ServerProcess {
  readonly child: ChildProcess;
  readonly port: number;
  /** Every JSON log line so far. */
  readonly logs: Record<string, unknown>[];
  /** Resolves with the exit code. */
  readonly exited: Promise<number | null>;
}

export async function startServerProcess(
  env: Record<string, string>,
  options: { fileLimit?: number } = {},
): Promise<ServerProcess> {
  const entry = [process.execPath, path.join(__dirname, "run-ts.cjs"), path.join(PROJECT_ROOT, "src/main.ts")];
  // A file-descriptor limit is set by the shell, which then becomes the server (exec).
  const [command, args] =
    options.fileLimit === undefined
      ? [entry[0] as string, entry.slice(1)]
      : ["sh", ["-c", `ulimit -n ${options.fileLimit} && exec "$@"`, "sh", ...entry]];
  const child = spawn(command, args, {
    cwd: PROJECT_ROOT,
    env: { ...process.env, HOST: "127.0.0.1", PORT: "0", LOG_LEVEL: "info", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  const exited = once(child, "exit").then(([code]) => code as number | null);
  const logs: Record<string, unknown>[] = [];
  let stderr = "";
  child.stderr.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const port = await new Promise<number>((resolve, reject) => {
    readline.createInterface({ input: child.stdout }).on("line", (line) => {
      try {
        const entry = JSON.parse(line) as Record<string, unknown>;
        logs.push(entry);
        if (entry.msg === "listening") resolve(entry.port as number);
      } catch {
        // not a log line
      }
    });
    void exited.then((code) => reject(new Error(`server exited with ${code} before listening: ${stderr}`)));
  });
  return { child, port, logs, exited };
}
