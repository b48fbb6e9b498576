import { randomUUID } from 'node:crypto';
import type { IHeaders } from 'kafkajs';
import { CloudEvent } from 'cloudevents';
import type { EventData, EventDefinition, EventInput } from './events';
import { childTraceparent, isTraceparent } from '../trace';
import { eventTraceparent } from '../tracing/spans';

/** A CloudEvents 1.0 envelope in structured JSON mode, with the W3C `traceparent` extension. */
export interface Envelope<T = unknown> {
  specversion: '1.0';
  id: string;
  source: string;
  type: string;
  time: string;
  subject?: string;
  datacontenttype: 'application/json';
  traceparent: string;
  data: T;
}

export interface EnvelopeOptions {
  /** The producing service, e.g. `/waooaw/identity`. */
  source: string;
  /** The entity the event is about; also the default message key. */
  subject?: string;
  /** Pass a stored id when re-publishing (outbox) so consumers can recognise the duplicate. */
  id?: string;
  time?: string;
  /** The caller's trace; the event continues it in a child span. */
  traceparent?: string;
}

/** Why a message could not become an envelope; such messages go to the DLQ, never retried. */
export class InvalidEventError extends Error {
  constructor(
    message: string,
    readonly reason: 'unparseable' | 'invalid-envelope' | 'invalid-data',
  ) {
    super(message);
    this.name = 'InvalidEventError';
  }
}

function describeZodIssues(issues: readonly { path: readonly PropertyKey[]; message: string }[]): string {
  return issues.map((i) => `${i.path.map(String).join('.') || '(data)'}: ${i.message}`).join('; ');
}

/** Validates data against the event's schema and wraps it in a CloudEvents envelope. */
export function createEnvelope<D extends EventDefinition>(
  definition: D,
  data: EventInput<D>,
  options: EnvelopeOptions,
): Envelope<EventData<D>> {
  const parsed = definition.schema.safeParse(data);
  if (!parsed.success) {
    throw new InvalidEventError(
      `${definition.type} data is invalid: ${describeZodIssues(parsed.error.issues)}`,
      'invalid-data',
    );
  }
  // The SDK's constructor validates the envelope against the CloudEvents 1.0 spec.
  const event = new CloudEvent<unknown>({
    specversion: '1.0',
    id: options.id ?? randomUUID(),
    source: options.source,
    type: definition.type,
    time: options.time ?? new Date().toISOString(),
    datacontenttype: 'application/json',
    traceparent: eventTraceparent(options.traceparent),
    data: parsed.data,
    ...(options.subject ? { subject: options.subject } : {}),
  });
  return event.toJSON() as unknown as Envelope<EventData<D>>;
}

/** Parses a Kafka message value into a spec-valid envelope (data not yet checked). */
export function parseEnvelope(value: Buffer | null): Envelope {
  if (!value) throw new InvalidEventError('message has no value', 'unparseable');
  let json: unknown;
  try {
    json = JSON.parse(value.toString('utf8'));
  } catch (err) {
    throw new InvalidEventError(`message is not JSON: ${(err as Error).message}`, 'unparseable');
  }
  if (typeof json !== 'object' || json === null || Array.isArray(json)) {
    throw new InvalidEventError('message is not a CloudEvents JSON object', 'invalid-envelope');
  }
  let event: CloudEvent<unknown>;
  try {
    event = new CloudEvent<unknown>(json, true);
  } catch (err) {
    const detail = (err as { errors?: unknown }).errors;
    throw new InvalidEventError(
      `message is not a valid CloudEvents 1.0 envelope: ${(err as Error).message}${detail ? ` ${JSON.stringify(detail)}` : ''}`,
      'invalid-envelope',
    );
  }
  if (event.specversion !== '1.0') {
    throw new InvalidEventError(`unsupported specversion ${event.specversion}`, 'invalid-envelope');
  }
  const envelope = event.toJSON() as unknown as Envelope;
  if (!envelope.time) throw new InvalidEventError('envelope has no time', 'invalid-envelope');
  if (!isTraceparent(envelope.traceparent)) envelope.traceparent = childTraceparent(undefined);
  return envelope;
}

/** Checks an envelope's data against its definition's schema, returning the parsed data. */
export function parseEventData<D extends EventDefinition>(definition: D, envelope: Envelope): EventData<D> {
  const parsed = definition.schema.safeParse(envelope.data);
  if (!parsed.success) {
    throw new InvalidEventError(
      `${definition.type} ${envelope.id} data is invalid: ${describeZodIssues(parsed.error.issues)}`,
      'invalid-data',
    );
  }
  return parsed.data as EventData<D>;
}

/**
 * A Kafka header's values as text: kafkajs reads each as a Buffer (a string when this process built
 * the message), and an array when a name repeats. The consumer takes the first `traceparent`; the
 * dead-letter reader shows them all.
 */
export const headerValues = (value: IHeaders[string]): string[] =>
  value === undefined ? [] : (Array.isArray(value) ? value : [value]).map((v) => v.toString());
