// deploy/ against the server's runtime contract: every variable the
// Deployment sets is one the server reads, and together they are a valid
// configuration; the probes ask the health port the server opens, for the
// services it reports; SIGKILL comes after the graceful shutdown; the
// Service is headless and routes to the gRPC port; the heap is capped below
// the container's memory limit. And the typed client
// spreads calls over replicas with round_robin, as the Service intends.
import { execFileSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import os from "node:os";
import path from "node:path";
import yaml from "js-yaml";
import { createProductClient } from "../../src/client";
import { loadConfig } from "../../src/config";
import { PRODUCT_SERVICE_NAME } from "../../src/server";
import { TEST_BACKENDS } from "../support/database";
import { PROJECT_ROOT } from "../support/commands";
import { deploymentRuntime } from "../support/deployment";
import { serveForSuite, startTestServer, testToken } from "../support/server";

interface EnvVar {
  name: string;
  value?: string;
  valueFrom?: unknown;
}
interface Probe {
  grpc?: { port: number; service?: string };
}
interface Container {
  command: string[];
  ports: { name: string; containerPort: number }[];
  env: EnvVar[];
  volumeMounts: { name: string; mountPath: string }[];
  startupProbe: Probe;
  readinessProbe: Probe;
  livenessProbe: Probe;
}
interface Deployment {
  kind: string;
  spec: {
    template: {
      metadata: { labels: Record<string, string> };
      spec: { terminationGracePeriodSeconds: number; containers: Container[] };
    };
  };
}
interface Service {
  kind: string;
  spec: {
    clusterIP: string;
    selector: Record<string, string>;
    ports: { name: string; port: number; targetPort: string }[];
  };
}

const load = <T>(file: string) => yaml.load(readFileSync(path.join(PROJECT_ROOT, "deploy", file), "utf8")) as T;
const deployment = load<Deployment>("deployment.yaml");
const service = load<Service>("service.yaml");
const pod = deployment.spec.template.spec;
const container = pod.containers[0] as Container;

/** The container's environment, secrets and files stood in for, as the server would see it. */
function containerEnv(): Record<string, string> {
  const env: Record<string, string> = {};
  for (const variable of container.env)
    env[variable.name] =
      variable.value ??
      (variable.name === "DATABASE_URL" ? "postgres://user@db.example:5432/products" : "from-a-secret");
  return env;
}

test("every variable the Deployment sets is one the server reads, and they make a valid configuration", () => {
  const source = readFileSync(path.join(PROJECT_ROOT, "src/config.ts"), "utf8");
  for (const variable of container.env) expect(source).toContain(`"${variable.name}"`);
  const env = containerEnv();
  // The TLS files are mounted from a secret; their names are what the config reads.
  const tlsMount = container.volumeMounts.find((mount) => mount.name === "tls")?.mountPath;
  expect(env.TLS_CERT_FILE?.startsWith(`${tlsMount}/`)).toBe(true);
  expect(env.TLS_KEY_FILE?.startsWith(`${tlsMount}/`)).toBe(true);
  // Read from a stand-in for the mounted secret.
  const secret = mkdtempSync(path.join(os.tmpdir(), "tls-"));
  for (const name of ["TLS_CERT_FILE", "TLS_KEY_FILE"]) {
    const file = path.join(secret, path.basename(env[name] as string));
    writeFileSync(file, "PEM");
    env[name] = file;
  }
  const config = loadConfig(env);
  expect(config.tls).toBeDefined();
  expect(config.host).toBe("0.0.0.0");
  expect(container.command[0]).toBe("node");
  expect(container.command.at(-1)).toBe("dist/src/main.js");
  const port = (name: string) => container.ports.find((entry) => entry.name === name)?.containerPort;
  expect([config.port, config.healthPort, config.metricsPort]).toEqual([port("grpc"), port("health"), port("metrics")]);
});

test("the probes ask the plaintext health port for the services the server reports", () => {
  const healthPort = Number(containerEnv().HEALTH_PORT);
  for (const probe of [container.startupProbe, container.readinessProbe, container.livenessProbe])
    expect(probe.grpc?.port).toBe(healthPort);
  expect(container.readinessProbe.grpc?.service).toBe(PRODUCT_SERVICE_NAME);
  expect(container.livenessProbe.grpc?.service ?? "").toBe("");
});

test("the heap is capped at most 75% of the memory limit, leaving room for what lives outside it", () => {
  const { nodeFlags, memoryLimitBytes } = deploymentRuntime(PROJECT_ROOT);
  // The cap the command sets, as the Node that runs it reads it.
  const heapLimit = Number(
    execFileSync(process.execPath, [...nodeFlags, "-p", "require('node:v8').getHeapStatistics().heap_size_limit"], {
      encoding: "utf8",
    }),
  );
  expect(heapLimit).toBeLessThanOrEqual(0.75 * memoryLimitBytes);
  // Not so low that the server's working set (a few tens of MiB) cannot fit.
  expect(heapLimit).toBeGreaterThanOrEqual(0.5 * memoryLimitBytes);
});

test("the kubelet's SIGKILL comes after the graceful shutdown has had its grace period", () => {
  const graceMs = Number(containerEnv().SHUTDOWN_GRACE_MS);
  // The server stops within the grace period plus a second for cancelled calls to stop.
  expect(pod.terminationGracePeriodSeconds * 1000).toBeGreaterThan(graceMs + 1_000);
});

test("the Service is headless and routes to the pods' gRPC port", () => {
  expect(service.kind).toBe("Service");
  expect(service.spec.clusterIP).toBe("None");
  expect(service.spec.selector).toEqual(deployment.spec.template.metadata.labels);
  expect(service.spec.ports).toEqual([
    expect.objectContaining({ name: "grpc", port: Number(containerEnv().PORT), targetPort: "grpc" }),
  ]);
});

describe.each(TEST_BACKENDS)("round_robin over replicas on $name", (backend) => {
  const suite = serveForSuite(backend);

  test("the typed client spreads calls over every address the name resolves to", async () => {
    const second = await startTestServer(suite.database);
    const products = createProductClient({
      address: `ipv4:127.0.0.1:${suite.server.port},127.0.0.1:${second.port}`,
      loadBalancing: "round_robin",
      insecure: true,
      token: await testToken(),
    });
    try {
      for (let i = 0; i < 20; i += 1) await products.getProduct("00000000-0000-4000-8000-000000000000");
      const served = (logs: Record<string, unknown>[]) =>
        logs.filter((line) => line.method === "/product.v1.ProductService/GetProduct").length;
      expect(served(suite.server.logs)).toBeGreaterThanOrEqual(5);
      expect(served(second.logs)).toBeGreaterThanOrEqual(5);
    } finally {
      products.close();
      await second.close();
    }
  });
});
