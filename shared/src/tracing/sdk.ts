import { context, propagation, trace } from '@opentelemetry/api';
import { AsyncLocalStorageContextManager } from '@opentelemetry/context-async-hooks';
import { W3CTraceContextPropagator } from '@opentelemetry/core';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { resourceFromAttributes } from '@opentelemetry/resources';
import type { SpanExporter } from '@opentelemetry/sdk-trace';
import { BatchSpanProcessor, TracerProvider } from '@opentelemetry/sdk-trace';
import { setTracingState } from './spans';

export interface TracingOptions {
  /** `service.name` of every span this process exports. */
  service: string;
  /**
   * Where spans go; default an OTLP/HTTP (JSON) exporter configured by the standard variables
   * (OTEL_EXPORTER_OTLP_ENDPOINT or OTEL_EXPORTER_OTLP_TRACES_ENDPOINT, headers, timeout).
   */
  exporter?: SpanExporter;
  /** The OTLP/HTTP traces URL (`.../v1/traces`), instead of the variables' (tests' receivers). */
  url?: string;
  /** Spans buffered before an export is sent at once; the SDK's defaults otherwise. */
  maxExportBatchSize?: number;
  scheduledDelayMillis?: number;
}

export interface Tracing {
  /** Sends what is buffered now (tests read the receiver right after). */
  flush(): Promise<void>;
  shutdown(): Promise<void>;
}

/** Whether the standard variables ask for spans to be exported. */
export function tracingRequested(env: NodeJS.ProcessEnv = process.env): boolean {
  if (env.OTEL_SDK_DISABLED === 'true' || env.OTEL_TRACES_EXPORTER === 'none') return false;
  return Boolean(env.OTEL_EXPORTER_OTLP_ENDPOINT || env.OTEL_EXPORTER_OTLP_TRACES_ENDPOINT);
}

/**
 * Records and exports this process's spans: W3C trace context, AsyncLocalStorage for the active
 * span, a batching processor (spans leave in the background, never on a request's path). Not the
 * all-in-one NodeSDK: it also starts metrics and logs pipelines and reads a dozen more variables,
 * while metrics here are Prometheus's (see ../metrics) and logs are pino's on stdout.
 */
export function startTracing(options: TracingOptions): Tracing {
  const contextManager = new AsyncLocalStorageContextManager().enable();
  context.setGlobalContextManager(contextManager);
  propagation.setGlobalPropagator(new W3CTraceContextPropagator());
  const processor = new BatchSpanProcessor({
    exporter: options.exporter ?? new OTLPTraceExporter(options.url ? { url: options.url } : {}),
    ...(options.maxExportBatchSize ? { maxExportBatchSize: options.maxExportBatchSize } : {}),
    ...(options.scheduledDelayMillis ? { scheduledDelayMillis: options.scheduledDelayMillis } : {}),
  });
  const provider = new TracerProvider({
    resource: resourceFromAttributes({
      'service.name': options.service,
      'service.namespace': 'waooaw',
      'process.pid': process.pid,
    }),
    spanProcessors: [processor],
  });
  trace.setGlobalTracerProvider(provider);
  const shutdown = async () => {
    await provider.shutdown();
    trace.disable();
    propagation.disable();
    context.disable();
  };
  setTracingState(true, shutdown);
  return {
    flush: () => provider.forceFlush(),
    async shutdown() {
      setTracingState(false);
      await shutdown();
    },
  };
}
