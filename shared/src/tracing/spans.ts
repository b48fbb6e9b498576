import type { Attributes, Span } from '@opentelemetry/api';
import { context, propagation, ROOT_CONTEXT, SpanKind, SpanStatusCode, trace } from '@opentelemetry/api';
import { childTraceparent, isTraceparent, traceIdOf } from '../trace';

export { SpanKind, SpanStatusCode };
export type { Span };

/*
 * The platform's spans, written against the OpenTelemetry API only. Without an SDK (startTracing in
 * ./sdk, which the process entries load when OTEL_EXPORTER_OTLP_ENDPOINT is set) the API's tracer
 * hands out no-op spans; `inSpan` does not even ask for one then, nor builds the span's name and
 * attributes (they come from a function it calls only with tracing on), so a process without tracing
 * pays one flag check per message or request.
 *
 * The flag lives on globalThis, not in this module: the SDK is loaded by the entry's preload and the
 * services' code may reach this module through another path (a workspace link, jest's registry), and
 * the OpenTelemetry API keeps its own globals the same way.
 */
const ENABLED = Symbol.for('waooaw.tracing.enabled');
const SHUTDOWN = Symbol.for('waooaw.tracing.shutdown');
type TracingGlobals = typeof globalThis & {
  [ENABLED]?: boolean;
  [SHUTDOWN]?: () => Promise<void>;
};
const globals = globalThis as TracingGlobals;

/** Whether an SDK records spans in this process (see ./sdk). */
export function tracingEnabled(): boolean {
  return globals[ENABLED] === true;
}

/** Called by the SDK's start and shutdown; `shutdown` flushes what is still buffered. */
export function setTracingState(enabled: boolean, shutdown?: () => Promise<void>): void {
  globals[ENABLED] = enabled;
  if (shutdown) globals[SHUTDOWN] = shutdown;
  else delete globals[SHUTDOWN];
}

/** Exports the spans still buffered and stops recording; a no-op without tracing. */
export async function shutdownTracing(): Promise<void> {
  const shutdown = globals[SHUTDOWN];
  if (!shutdown) return;
  setTracingState(false);
  await shutdown();
}

/** What `inSpan` makes: the span's name, and where it sits. */
export interface SpanSpec {
  name: string;
  kind?: SpanKind;
  attributes?: Attributes;
  /**
   * The span's parent as a W3C traceparent (a Kafka message's header, an HTTP request's): a valid
   * one continues that trace, anything else starts a new one. Undefined: the active span's child.
   */
  parent?: string | null;
}

/**
 * Runs `fn` inside the span `describe()` names, of `service`'s tracer (the span active for everything
 * `fn` awaits), ended when `fn` settles; a thrown error marks it failed and is rethrown. Without
 * tracing, `fn` runs as is and gets no span, and `describe` is not called: call sites sit on the hot
 * path (every consumed message, every request), and a name and an attributes object built for
 * nobody would be paid on each.
 */
export function inSpan<T>(
  service: string,
  describe: () => SpanSpec,
  fn: (span: Span | undefined) => Promise<T>,
): Promise<T> {
  if (!tracingEnabled()) return fn(undefined);
  const options = describe();
  const parent =
    options.parent === undefined
      ? context.active()
      : isTraceparent(options.parent)
        ? propagation.extract(ROOT_CONTEXT, { traceparent: options.parent })
        : ROOT_CONTEXT;
  return trace.getTracer(service).startActiveSpan(
    options.name,
    {
      kind: options.kind ?? SpanKind.INTERNAL,
      ...(options.attributes ? { attributes: options.attributes } : {}),
    },
    parent,
    async (span) => {
      try {
        return await fn(span);
      } catch (err) {
        failSpan(span, err);
        throw err;
      } finally {
        span.end();
      }
    },
  );
}

/** Marks a span failed with the error's message (and the exception event the trace views show). */
export function failSpan(span: Span | undefined, err: unknown): void {
  if (!span) return;
  span.recordException(err instanceof Error ? err : String(err));
  span.setStatus({ code: SpanStatusCode.ERROR, message: err instanceof Error ? err.message : String(err) });
}

/** The active span as a W3C traceparent, when tracing is on and a span is active. */
export function activeTraceparent(): string | undefined {
  if (!tracingEnabled()) return undefined;
  const carrier: { traceparent?: string } = {};
  propagation.inject(context.active(), carrier);
  return isTraceparent(carrier.traceparent) ? carrier.traceparent : undefined;
}

/**
 * The traceparent a request's work carries on (into its events, to the subgraphs it calls): with
 * tracing, the request's own span; without, a fresh child id of the caller's header, as before.
 */
export function requestTraceparent(header: string | undefined): string {
  return activeTraceparent() ?? childTraceparent(header);
}

/**
 * The traceparent an event carries, given the one its producer names (the request's, the event's
 * that caused it). With tracing it must name a span that is exported, or the consumer's span would
 * hang off a parent no trace view knows: the active span when it belongs to the same trace (a
 * consumer's, the runtime's run), else the given one itself. Without tracing, a child id as before.
 */
export function eventTraceparent(given: string | undefined): string {
  if (tracingEnabled()) {
    const active = activeTraceparent();
    const valid = isTraceparent(given);
    if (active && (!valid || traceIdOf(active) === traceIdOf(given))) return active;
    if (valid) return given;
  }
  return childTraceparent(given);
}

/**
 * The event options that make a stored entity's later events (published from loops, sweeps and
 * timers with no span around them) continue the trace it was created in; entities stored before
 * traces were kept have none.
 */
export function continuedTrace(entity: { traceparent?: string | null }): { traceparent?: string } {
  return entity.traceparent ? { traceparent: entity.traceparent } : {};
}

/**
 * The active span's ids as log fields (`trace_id`, `span_id`), for pino's mixin. A new object each
 * time: pino merges the line's own fields into what the mixin returns.
 */
export function traceLogFields(): { trace_id?: string; span_id?: string } {
  if (!tracingEnabled()) return {};
  const span = trace.getActiveSpan();
  if (!span) return {};
  const { traceId, spanId } = span.spanContext();
  return { trace_id: traceId, span_id: spanId };
}
