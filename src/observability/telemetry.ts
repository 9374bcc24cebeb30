// Traces over OpenTelemetry: on when OTEL_EXPORTER_OTLP_ENDPOINT is set, and
// then every ProductService call is a server span (nice-grpc-opentelemetry's
// middleware), parented by the caller's W3C `traceparent`, and exported over
// OTLP/HTTP in batches. Off, nothing is registered and no middleware runs:
// the API's no-op tracer costs nothing.
//
// The typed client (src/client) always sends the active span's context, so a
// handler that calls another service through it continues the same trace.
import { context, propagation, trace } from "@opentelemetry/api";
import { AsyncLocalStorageContextManager } from "@opentelemetry/context-async-hooks";
import { W3CTraceContextPropagator } from "@opentelemetry/core";
import { OTLPTraceExporter } from "@opentelemetry/exporter-trace-otlp-http";
import { resourceFromAttributes } from "@opentelemetry/resources";
import { BatchSpanProcessor, TracerProvider } from "@opentelemetry/sdk-trace";
import { ATTR_SERVICE_NAME, ATTR_SERVICE_VERSION } from "@opentelemetry/semantic-conventions";

export interface TracingConfig {
  /** OTLP/HTTP base URL (traces go to `<endpoint>/v1/traces`); undefined turns tracing off. */
  readonly otlpEndpoint: string | undefined;
  /** service.name of the spans. */
  readonly serviceName: string;
  readonly serviceVersion: string;
}

export interface Tracing {
  readonly enabled: boolean;
  /** Exports the spans still buffered, then stops. */
  shutdown(): Promise<void>;
}

export function startTracing(config: TracingConfig): Tracing {
  if (config.otlpEndpoint === undefined) return { enabled: false, shutdown: () => Promise.resolve() };
  const exporter = new OTLPTraceExporter({ url: `${config.otlpEndpoint.replace(/\/+$/, "")}/v1/traces` });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      [ATTR_SERVICE_NAME]: config.serviceName,
      [ATTR_SERVICE_VERSION]: config.serviceVersion,
    }),
    spanProcessors: [new BatchSpanProcessor({ exporter, scheduledDelayMillis: 1_000 })],
  });
  // The span a handler runs in follows its async work: the client picks it up as the parent.
  context.setGlobalContextManager(new AsyncLocalStorageContextManager().enable());
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  trace.setGlobalTracerProvider(provider);
  return {
    enabled: true,
    async shutdown() {
      await provider.shutdown();
      trace.disable();
      propagation.disable();
      context.disable();
    },
  };
}
