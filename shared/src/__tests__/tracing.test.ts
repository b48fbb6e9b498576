import { Writable } from 'node:stream';
import { InMemorySpanExporter } from '@opentelemetry/sdk-trace';
import { createLogger } from '../logger';
import { childTraceparent, newTraceparent, traceIdOf } from '../trace';
import type { Tracing } from '../tracing/sdk';
import { startTracing, tracingRequested } from '../tracing/sdk';
import {
  activeTraceparent,
  eventTraceparent,
  inSpan,
  requestTraceparent,
  shutdownTracing,
  SpanKind,
  tracingEnabled,
} from '../tracing/spans';

/** A logger whose JSON lines land in an array. */
function capturedLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk: Buffer, _encoding, done) {
      for (const line of chunk.toString('utf8').split('\n').filter(Boolean))
        lines.push(JSON.parse(line) as Record<string, unknown>);
      done();
    },
  });
  return { logger: createLogger('tracing-test', 'info', stream), lines };
}

const spanIdOf = (traceparent: string) => traceparent.split('-')[2];

describe('without an SDK', () => {
  it('runs the work without a span and keeps the old child-id behaviour', async () => {
    expect(tracingEnabled()).toBe(false);
    const parent = newTraceparent();
    const spec = jest.fn(() => ({ name: 'work', parent }));
    await expect(inSpan('svc', spec, async (span) => span)).resolves.toBeUndefined();
    // Nothing is built for a span nobody records.
    expect(spec).not.toHaveBeenCalled();
    expect(activeTraceparent()).toBeUndefined();
    const event = eventTraceparent(parent);
    expect(traceIdOf(event)).toBe(traceIdOf(parent));
    expect(spanIdOf(event)).not.toBe(spanIdOf(parent));
    expect(traceIdOf(requestTraceparent(parent))).toBe(traceIdOf(parent));
  });

  it('writes log lines without trace fields', async () => {
    const { logger, lines } = capturedLogger();
    await inSpan(
      'svc',
      () => ({ name: 'work' }),
      async () => logger.info('inside'),
    );
    logger.info('outside');
    await new Promise<void>((resolve) => setImmediate(resolve));
    expect(lines.map((l) => [l.msg, l.trace_id])).toEqual([
      ['inside', undefined],
      ['outside', undefined],
    ]);
  });

  it('asks for an exporter only when the standard variables name an endpoint', () => {
    expect(tracingRequested({})).toBe(false);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318' })).toBe(true);
    expect(tracingRequested({ OTEL_EXPORTER_OTLP_TRACES_ENDPOINT: 'http://127.0.0.1:4318/v1/traces' })).toBe(
      true,
    );
    expect(
      tracingRequested({ OTEL_EXPORTER_OTLP_ENDPOINT: 'http://127.0.0.1:4318', OTEL_SDK_DISABLED: 'true' }),
    ).toBe(false);
  });
});

describe('with the SDK', () => {
  const exporter = new InMemorySpanExporter();
  let tracing: Tracing;
  beforeAll(() => {
    tracing = startTracing({ service: 'tracing-test', exporter });
  });
  afterAll(() => shutdownTracing());
  beforeEach(() => exporter.reset());

  const finished = async () => {
    await tracing.flush();
    return exporter.getFinishedSpans();
  };

  it('nests spans and continues a remote parent', async () => {
    const remote = newTraceparent();
    await inSpan(
      'svc',
      () => ({ name: 'outer', parent: remote, kind: SpanKind.CONSUMER }),
      () =>
        inSpan(
          'svc',
          () => ({ name: 'inner' }),
          async () => undefined,
        ),
    );
    const spans = await finished();
    const outer = spans.find((s) => s.name === 'outer')!;
    const inner = spans.find((s) => s.name === 'inner')!;
    expect(outer.spanContext().traceId).toBe(traceIdOf(remote));
    expect(outer.parentSpanContext?.spanId).toBe(spanIdOf(remote));
    expect(outer.kind).toBe(SpanKind.CONSUMER);
    expect(inner.parentSpanContext?.spanId).toBe(outer.spanContext().spanId);
    expect(outer.instrumentationScope.name).toBe('svc');
  });

  it('starts a new trace for a missing or malformed parent', async () => {
    await inSpan(
      'svc',
      () => ({ name: 'root', parent: 'not-a-traceparent' }),
      async () => undefined,
    );
    const [root] = await finished();
    expect(root!.parentSpanContext).toBeUndefined();
  });

  it('marks a span failed and rethrows', async () => {
    await expect(
      inSpan(
        'svc',
        () => ({ name: 'broken' }),
        async () => {
          throw new Error('no such agent');
        },
      ),
    ).rejects.toThrow('no such agent');
    const [broken] = await finished();
    expect(broken!.status).toEqual({ code: 2, message: 'no such agent' });
    expect(broken!.events.map((e) => e.name)).toEqual(['exception']);
  });

  it("names an exported span as an event's parent: the active one of its trace, else the given one", async () => {
    const request = newTraceparent();
    let inside: Record<string, string | undefined> = {};
    await inSpan(
      'svc',
      () => ({ name: 'consume', parent: request }),
      async () => {
        inside = {
          active: activeTraceparent(),
          sameTrace: eventTraceparent(childTraceparent(request)),
          none: eventTraceparent(undefined),
          otherTrace: eventTraceparent(newTraceparent()),
        };
      },
    );
    const [consume] = await finished();
    const own = `00-${consume!.spanContext().traceId}-${consume!.spanContext().spanId}-01`;
    expect(inside.active).toBe(own);
    expect(inside.sameTrace).toBe(own);
    expect(inside.none).toBe(own);
    // Another trace's event (a batch's other message) keeps naming its own producer.
    expect(inside.otherTrace).not.toBe(own);
    expect(traceIdOf(inside.otherTrace!)).not.toBe(consume!.spanContext().traceId);
    // Outside any span, the given parent itself: it is a span some process exported.
    const given = newTraceparent();
    expect(eventTraceparent(given)).toBe(given);
  });

  it('puts trace_id and span_id on every line written inside a span, and none outside', async () => {
    const { logger, lines } = capturedLogger();
    const child = logger.child({ component: 'x' });
    await inSpan(
      'svc',
      () => ({ name: 'logged' }),
      async () => {
        logger.info('one');
        await new Promise<void>((resolve) => setImmediate(resolve));
        child.warn({ detail: 1 }, 'two');
      },
    );
    logger.info('after');
    await new Promise<void>((resolve) => setImmediate(resolve));
    const [span] = await finished();
    const { traceId, spanId } = span!.spanContext();
    expect(lines.map((l) => [l.msg, l.trace_id, l.span_id])).toEqual([
      ['one', traceId, spanId],
      ['two', traceId, spanId],
      ['after', undefined, undefined],
    ]);
    expect(lines[1]).toMatchObject({ component: 'x', detail: 1 });
  });
});
