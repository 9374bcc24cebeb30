// How many TCP connections this process holds open to a port, as the kernel
// sees them (Linux's /proc/net/tcp): a socket the process has closed but the
// network has not finished with (a black hole never acknowledges the close)
// is no longer the process's, and has no inode there. A proxy cannot tell
// that apart from a half-closed connection still in use, such as a cancel
// request waiting for the server to close it.
import { readFileSync } from "node:fs";

export function openSocketsTo(port: number): number {
  let count = 0;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let lines: string[];
    try {
      lines = readFileSync(table, "utf8").trim().split("\n").slice(1);
    } catch {
      continue;
    }
    for (const line of lines) {
      const fields = line.trim().split(/\s+/);
      const remote = fields[2] ?? "";
      const inode = fields[9] ?? "0";
      if (Number.parseInt(remote.slice(remote.lastIndexOf(":") + 1), 16) === port && inode !== "0") count += 1;
    }
  }
  return count;
}
