// Prometheus metrics, served as text on METRICS_PORT at /metrics. Call
// metrics follow the names of go-grpc-prometheus, so existing dashboards and
// alerts work: calls started and handled (by method and code), handling time,
// stream messages each way; plus the database connections in use.
import http from "node:http";
import type { AddressInfo } from "node:net";
import type { Status } from "nice-grpc-common";
import { collectDefaultMetrics, Counter, Gauge, Histogram, Registry } from "prom-client";

export interface CallLabels {
  /** Full method path: /package.Service/Method. */
  readonly path: string;
  readonly requestStream: boolean;
  readonly responseStream: boolean;
}

export interface CallMetrics {
  started(call: CallLabels): void;
  /** The call's status went out. */
  handled(call: CallLabels, code: Status, seconds: number): void;
  /** One message sent to the client (unary responses included). */
  sent(call: CallLabels): void;
  /** One message received from the client (unary requests included). */
  received(call: CallLabels): void;
  /**
   * Creates every series of these methods at zero, as go-grpc-prometheus's
   * InitializeMetrics does, so rates and alerts work before the first call.
   */
  initialize(methods: readonly CallLabels[]): void;
}

export interface Metrics extends CallMetrics {
  readonly registry: Registry;
}

/** Status codes as go-grpc-prometheus labels them (Go's codes.Code names), which dashboards filter on. */
const GO_CODE_NAMES = [
  "OK",
  "Canceled",
  "Unknown",
  "InvalidArgument",
  "DeadlineExceeded",
  "NotFound",
  "AlreadyExists",
  "PermissionDenied",
  "ResourceExhausted",
  "FailedPrecondition",
  "Aborted",
  "OutOfRange",
  "Unimplemented",
  "Internal",
  "Unavailable",
  "DataLoss",
  "Unauthenticated",
] as const;

export function codeName(code: Status): string {
  return GO_CODE_NAMES[code] ?? `Code(${code})`;
}

type Labels = { grpc_service: string; grpc_method: string; grpc_type: string };
// One label object per method, made once: counters are bumped per message.
const labelCache = new Map<string, Labels>();

function labelsOf(call: CallLabels): Labels {
  let labels = labelCache.get(call.path);
  if (labels === undefined) {
    const [, service = "", method = ""] = call.path.split("/");
    const type = call.requestStream
      ? call.responseStream
        ? "bidi_stream"
        : "client_stream"
      : call.responseStream
        ? "server_stream"
        : "unary";
    labels = { grpc_service: service, grpc_method: method, grpc_type: type };
    labelCache.set(call.path, labels);
  }
  return labels;
}

export function createMetrics(options: { connectionsInUse: () => number }): Metrics {
  const registry = new Registry();
  collectDefaultMetrics({ register: registry });
  // prom-client names these gauges with a counter's suffix, which promtool
  // refuses; nodejs_active_handles, _requests and _resources say the same.
  for (const misnamed of [
    "nodejs_active_handles_total",
    "nodejs_active_requests_total",
    "nodejs_active_resources_total",
  ]) {
    registry.removeSingleMetric(misnamed);
  }
  const callLabels = ["grpc_service", "grpc_method", "grpc_type"] as const;
  const started = new Counter({
    name: "grpc_server_started_total",
    help: "RPCs started on the server.",
    labelNames: callLabels,
    registers: [registry],
  });
  const handled = new Counter({
    name: "grpc_server_handled_total",
    help: "RPCs completed on the server, by status code.",
    labelNames: [...callLabels, "grpc_code"],
    registers: [registry],
  });
  const handling = new Histogram({
    name: "grpc_server_handling_seconds",
    help: "Time from the start of an RPC to its status, in seconds.",
    labelNames: callLabels,
    buckets: [0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [registry],
  });
  const received = new Counter({
    name: "grpc_server_msg_received_total",
    help: "Stream messages received from clients.",
    labelNames: callLabels,
    registers: [registry],
  });
  const sent = new Counter({
    name: "grpc_server_msg_sent_total",
    help: "Stream messages sent to clients.",
    labelNames: callLabels,
    registers: [registry],
  });
  new Gauge({
    name: "db_pool_connections_in_use",
    help: "Database connections busy with a query or held by the service (LISTEN, migration lock).",
    registers: [registry],
    collect() {
      this.set(options.connectionsInUse());
    },
  });

  return {
    registry,
    started(call) {
      started.inc(labelsOf(call));
    },
    handled(call, code, seconds) {
      const labels = labelsOf(call);
      handled.inc({ ...labels, grpc_code: codeName(code) });
      handling.observe(labels, seconds);
    },
    sent(call) {
      sent.inc(labelsOf(call));
    },
    initialize(methods) {
      for (const method of methods) {
        const labels = labelsOf(method);
        started.inc(labels, 0);
        for (const code of GO_CODE_NAMES) handled.inc({ ...labels, grpc_code: code }, 0);
        handling.zero(labels);
        sent.inc(labels, 0);
        received.inc(labels, 0);
      }
    },
    received(call) {
      received.inc(labelsOf(call));
    },
  };
}

/** Serves GET /metrics; resolves with the port once listening. */
export async function startMetricsServer(
  registry: Registry,
  host: string,
  port: number,
): Promise<{ port: number; close(): Promise<void> }> {
  const server = http.createServer((request, response) => {
    if (request.method !== "GET" || request.url !== "/metrics") {
      response.writeHead(404).end();
      return;
    }
    registry.metrics().then(
      (body) => response.writeHead(200, { "content-type": registry.contentType }).end(body),
      () => response.writeHead(500).end(),
    );
  });
  await new Promise<void>((resolve) => server.listen(port, host, resolve));
  return {
    port: (server.address() as AddressInfo).port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
