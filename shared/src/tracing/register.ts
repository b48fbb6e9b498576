/*
 * The first import of every process entry (services, gateway, agents runtime). When the standard
 * OpenTelemetry variables ask for it (see tracingRequested), it starts the SDK and the MongoDB
 * driver's instrumentation before anything else is loaded: instrumentations hook `require`, so the
 * driver must not have been required yet. Otherwise it loads nothing, and tracing costs nothing.
 *
 * Instrumentations chosen: MongoDB (a span per command under the span that issued it). Not http: the
 * platform's own server and client spans (shared/src/http/server.ts, the gateway's subgraph calls)
 * name GraphQL operations, which a generic `POST` span cannot. Not kafkajs: it would write its own
 * `traceparent` header over the event's and start one span per fetched batch, while the trace must
 * follow each event through the outbox (published later, from another context) to its consumers.
 */
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { registerInstrumentations } from '@opentelemetry/instrumentation';
import { MongoDBInstrumentation } from '@opentelemetry/instrumentation-mongodb';
import { startTracing, tracingRequested } from './sdk';

/** The `waooaw.service` of the package that holds the entry script (OTEL_SERVICE_NAME wins). */
function serviceName(): string {
  if (process.env.OTEL_SERVICE_NAME) return process.env.OTEL_SERVICE_NAME;
  let dir = path.dirname(process.argv[1] ?? process.cwd());
  for (;;) {
    const file = path.join(dir, 'package.json');
    if (existsSync(file)) {
      const pkg = JSON.parse(readFileSync(file, 'utf8')) as { name?: string; waooaw?: { service?: string } };
      return pkg.waooaw?.service ?? pkg.name ?? 'waooaw';
    }
    const parent = path.dirname(dir);
    if (parent === dir) return 'waooaw';
    dir = parent;
  }
}

if (tracingRequested()) {
  // The SDK no longer reads the batch processor's standard variable itself; its default is 5 s.
  const delay = Number(process.env.OTEL_BSP_SCHEDULE_DELAY);
  startTracing({ service: serviceName(), ...(delay > 0 ? { scheduledDelayMillis: delay } : {}) });
  // Only commands some platform span issued: the periodic ones (outbox relays, sweeps) would each
  // start a trace of their own, most of what would be exported and none of it about a task.
  registerInstrumentations({ instrumentations: [new MongoDBInstrumentation({ requireParentSpan: true })] });
}
