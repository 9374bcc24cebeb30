// The kernel's view of TCP sockets (/proc/net/tcp and tcp6), for tests that
// must see what a process leaves behind: a socket in CLOSE-WAIT is one whose
// peer has closed and which the process has not closed yet.
import { readFileSync } from "node:fs";

/** /proc/net/tcp's code for the CLOSE-WAIT state. */
const CLOSE_WAIT = "08";

/** Sockets on local port `port` that are in CLOSE-WAIT. */
export function closeWaitSockets(port: number): number {
  const hexPort = port.toString(16).toUpperCase().padStart(4, "0");
  let count = 0;
  for (const table of ["/proc/net/tcp", "/proc/net/tcp6"]) {
    let lines: string[];
    try {
      lines = readFileSync(table, "utf8").split("\n").slice(1);
    } catch {
      continue;
    }
    for (const line of lines) {
      const [, local, , state] = line.trim().split(/\s+/);
      if (local?.endsWith(`:${hexPort}`) && state === CLOSE_WAIT) count += 1;
    }
  }
  return count;
}
