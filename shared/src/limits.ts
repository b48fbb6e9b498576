import { badUserInput } from './errors';

/**
 * The largest Kafka message the bus sends (value, key and headers). The broker's default
 * `message.max.bytes` is 1,048,588 bytes for a whole record batch; a batch adds some 60 bytes and a
 * record some 20 to what it carries, so 1,000,000 leaves room. The bus refuses a larger message
 * before it reaches the broker (see createEventBus), and the outbox sets it aside.
 */
export const KAFKA_MAX_MESSAGE_BYTES = 1_000_000;

const KiB = 1024;

/**
 * Size limits of free-form input, checked at the API with BAD_USER_INPUT naming the field and the
 * limit: `extensions: { field, maxBytes, bytes }` for structured values and large texts
 * (assertMaxBytes), `{ field, maxLength }` for short texts (zod `.max()` through parseInput).
 * Everything a user sends may end up in an event (a task's input travels in its command, its
 * assignment to a runtime and the agent's request), so each limit stays well below
 * KAFKA_MAX_MESSAGE_BYTES: an envelope around the largest accepted value still fits in one Kafka
 * message with room for the event's other fields. Bytes are UTF-8 bytes of the text, or of the JSON
 * of a structured value; a character is at most 4 bytes.
 */
export const InputLimits = {
  /** A task's input (submitTask, each workflow node and saga task). */
  taskInputBytes: 256 * KiB,
  /** All the inputs of one workflow or saga together: its one document holds every node's. */
  workflowInputBytes: 512 * KiB,
  /** An agent definition's YAML (factory): the catalogue's are about 3 KB; parsing slows past this. */
  agentYamlBytes: 32 * KiB,
  /** A trial's business context (marketplace). */
  businessContextBytes: 16 * KiB,
  /** A trial task's structured details (marketplace). */
  trialDetailsBytes: 32 * KiB,
  /** An agent's free-form metadata (identity). */
  metadataBytes: 16 * KiB,
  /** A whole agent registration, or an agent's capabilities (identity): tags, examples and all. */
  agentRegistrationBytes: 64 * KiB,
  /** A support ticket's description, a comment on it, its resolution. */
  ticketTextChars: 5000,
  /** A knowledge article's body. */
  articleBodyChars: 20_000,
  /** A trial task's request (marketplace). */
  trialRequestChars: 4000,
  /** A review's comment (marketplace). */
  reviewTextChars: 2000,
  /** A reason given with a change (cancel, escalate, lifecycle, reopen). */
  reasonChars: 1000,
  /** A name, title or subject (workflow, saga, ticket, article). */
  nameChars: 200,
  /** A URL (an external agent's endpoint). */
  urlChars: 2048,
} as const;

/** UTF-8 bytes of a text, or of a structured value's JSON (nothing for undefined). */
export function inputBytes(value: unknown): number {
  if (value === undefined || value === null) return 0;
  if (typeof value === 'string') return Buffer.byteLength(value, 'utf8');
  return Buffer.byteLength(JSON.stringify(value) ?? '', 'utf8');
}

const describeBytes = (bytes: number) =>
  bytes >= KiB && bytes % KiB === 0 ? `${bytes / KiB} KiB` : `${bytes} bytes`;

/**
 * Refuses a free-form value larger than `maxBytes` with BAD_USER_INPUT naming the field and the
 * limit (`extensions: { field, maxBytes, bytes }`). `field` is the input's path, e.g. `input.input`.
 */
export function assertMaxBytes(field: string, value: unknown, maxBytes: number): void {
  assertBytesWithin(field, inputBytes(value), maxBytes);
}

/** assertMaxBytes for a size already measured (several values together, say). */
export function assertBytesWithin(field: string, bytes: number, maxBytes: number): void {
  if (bytes <= maxBytes) return;
  throw badUserInput(
    `${field} is ${bytes} bytes, over the limit of ${describeBytes(maxBytes)} (${maxBytes} bytes); shorten it, or pass large content by reference (a URL) instead of inline`,
    { field, maxBytes, bytes },
  );
}

/**
 * Refuses a text longer than `maxLength` characters with BAD_USER_INPUT naming the field and the
 * limit (`extensions: { field, maxLength, length }`, as parseInput names a zod `.max()`).
 */
export function assertMaxLength(field: string, value: string | null | undefined, maxLength: number): void {
  const length = value ? [...value].length : 0;
  if (length <= maxLength) return;
  throw badUserInput(`${field} is ${length} characters, over the limit of ${maxLength}; shorten it`, {
    field,
    maxLength,
    length,
  });
}
