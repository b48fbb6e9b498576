import type { IncomingMessage, ServerResponse } from 'node:http';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';

/** One span as an OTLP/HTTP JSON export carries it, with the service and tracer that made it. */
export interface ReceivedSpan {
  service: string;
  scope: string;
  traceId: string;
  spanId: string;
  /** Empty for a trace's root. */
  parentSpanId: string;
  name: string;
  /** OTLP's enum: 1 internal, 2 server, 3 client, 4 producer, 5 consumer. */
  kind: number;
  attributes: Record<string, unknown>;
}

interface OtlpAttribute {
  key: string;
  value: Record<string, unknown>;
}

interface OtlpExport {
  resourceSpans?: {
    resource?: { attributes?: OtlpAttribute[] };
    scopeSpans?: {
      scope?: { name?: string };
      spans?: {
        traceId: string;
        spanId: string;
        parentSpanId?: string;
        name: string;
        kind: number;
        attributes?: OtlpAttribute[];
      }[];
    }[];
  }[];
}

/** An attribute's value whatever its OTLP type (`stringValue`, `intValue`, ...). */
const valueOf = (value: Record<string, unknown>): unknown => Object.values(value)[0];

const attributes = (list: OtlpAttribute[] | undefined): Record<string, unknown> =>
  Object.fromEntries((list ?? []).map((a) => [a.key, valueOf(a.value)]));

function readBody(req: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    req.on('data', (chunk: Buffer) => chunks.push(chunk));
    req.on('end', () => resolve(Buffer.concat(chunks).toString('utf8')));
    req.on('error', reject);
  });
}

/**
 * An OTLP/HTTP trace receiver in this process (what a collector or Jaeger would be): it accepts JSON
 * exports on /v1/traces and keeps every span, so a test can read the trace back. With `keep: false`
 * it only counts them (the bench's `--tracing` runs export hundreds of thousands).
 */
export async function startOtlpReceiver(options: { keep?: boolean } = {}) {
  const keep = options.keep ?? true;
  const spans: ReceivedSpan[] = [];
  const rejected: string[] = [];
  let received = 0;
  const handle = async (req: IncomingMessage, res: ServerResponse) => {
    if (req.method !== 'POST' || req.url !== '/v1/traces') {
      res.writeHead(404).end();
      return;
    }
    const body = await readBody(req);
    if (!String(req.headers['content-type']).startsWith('application/json')) {
      rejected.push(`content-type ${req.headers['content-type']}`);
      res.writeHead(415).end();
      return;
    }
    const exported = JSON.parse(body) as OtlpExport;
    for (const resourceSpans of exported.resourceSpans ?? []) {
      const named = attributes(resourceSpans.resource?.attributes)['service.name'];
      const service = typeof named === 'string' ? named : '';
      for (const scopeSpans of resourceSpans.scopeSpans ?? [])
        for (const span of scopeSpans.spans ?? []) {
          received++;
          if (!keep) continue;
          spans.push({
            service,
            scope: scopeSpans.scope?.name ?? '',
            traceId: span.traceId,
            spanId: span.spanId,
            parentSpanId: span.parentSpanId ?? '',
            name: span.name,
            kind: span.kind,
            attributes: attributes(span.attributes),
          });
        }
    }
    res.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  };
  const server = createServer((req, res) => {
    handle(req, res).catch((err: unknown) => {
      rejected.push(String(err));
      res.writeHead(400).end();
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/v1/traces`,
    /** What OTEL_EXPORTER_OTLP_ENDPOINT names (the exporters add /v1/traces). */
    endpoint: `http://127.0.0.1:${port}`,
    spans,
    /** Spans received so far, kept or not. */
    received: () => received,
    /** Exports the receiver could not read (a wrong content type, bad JSON). */
    rejected,
    trace: (traceId: string) => spans.filter((s) => s.traceId === traceId),
    stop: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
