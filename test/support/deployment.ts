// What deploy/deployment.yaml runs the server with: its Node flags (the heap
// cap) and the container's memory limit, which the server's RSS must stay
// under. The benchmark runs its product server the same way.
import { readFileSync } from "node:fs";
import path from "node:path";
import yaml from "js-yaml";

interface Container {
  command: string[];
  resources: { limits: { memory: string } };
}
interface Deployment {
  spec: { template: { spec: { containers: Container[] } } };
}

const MEMORY_UNITS: Readonly<Record<string, number>> = { Ki: 2 ** 10, Mi: 2 ** 20, Gi: 2 ** 30 };

export interface DeploymentRuntime {
  /** The flags between `node` and the entry point in the container's command. */
  readonly nodeFlags: readonly string[];
  readonly memoryLimitBytes: number;
}

export function deploymentRuntime(root: string): DeploymentRuntime {
  const deployment = yaml.load(readFileSync(path.join(root, "deploy/deployment.yaml"), "utf8")) as Deployment;
  const container = deployment.spec.template.spec.containers[0] as Container;
  const limit = /^(\d+)(Ki|Mi|Gi)$/.exec(container.resources.limits.memory);
  if (limit === null) throw new Error(`cannot read the memory limit ${container.resources.limits.memory}`);
  return {
    nodeFlags: container.command.slice(1, -1),
    memoryLimitBytes: Number(limit[1]) * (MEMORY_UNITS[limit[2] as string] as number),
  };
}
