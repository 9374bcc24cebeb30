// The test process's live heap after a full collection, for tests that show a
// long call holds nothing per message (the server runs in this process).
import v8 from "node:v8";
import vm from "node:vm";

v8.setFlagsFromString("--expose-gc");
const collectGarbage = vm.runInNewContext("gc") as () => void;

export async function heapUsedAfterGc(): Promise<number> {
  // Let finished work settle first: promise reactions and timers of the last turn.
  await new Promise((resolve) => setImmediate(resolve));
  collectGarbage();
  collectGarbage();
  return process.memoryUsage().heapUsed;
}

export const MiB = 1024 * 1024;
