// One server per embedded database. PGlite does not lock its data directory,
// and two processes writing one would corrupt it, so the server takes a lock
// file there: created exclusively (atomic on every local filesystem), holding
// its pid, removed when the database closes. A lock whose process is gone
// (a crash, kill -9) is stale and taken over.
import { readFile, rm, writeFile } from "node:fs/promises";
import path from "node:path";

export class DataDirInUseError extends Error {
  constructor(dataDir: string, pid: number) {
    super(`DATA_DIR ${dataDir} is in use by another server (pid ${pid}); stop it, or give this one another DATA_DIR`);
    this.name = "DataDirInUseError";
  }
}

const LOCK_FILE = "server.lock";

function isRunning(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    // EPERM: it runs, as another user.
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes the lock on `dataDir`; resolves to the function that gives it back. */
export async function lockDataDir(dataDir: string): Promise<() => Promise<void>> {
  const file = path.join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt += 1) {
    try {
      await writeFile(file, `${process.pid}\n`, { flag: "wx" });
      return () => rm(file, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
    }
    const holder = Number.parseInt(await readFile(file, "utf8").catch(() => ""), 10);
    if (Number.isSafeInteger(holder) && holder !== process.pid && isRunning(holder))
      throw new DataDirInUseError(dataDir, holder);
    await rm(file, { force: true }); // stale: its process is gone
  }
  throw new Error(`could not lock DATA_DIR ${dataDir}`);
}
