/**
 * Why an event can never be published as it is, however often it is tried. Publishers that keep
 * their events until they are out (the outbox) set such events aside instead of retrying them.
 */
export type PermanentPublishReason = 'too-large' | 'unserialisable' | 'rejected';

/** Raised by the bus before anything is sent: the message can never be published as it is. */
export class PublishRejectedError extends Error {
  constructor(
    message: string,
    readonly reason: PermanentPublishReason,
  ) {
    super(message);
    this.name = 'PublishRejectedError';
  }
}

/**
 * Broker error codes that refuse the record itself, not the moment: sending the same record again
 * gets the same answer. Everything else (broker down, not leader, timeouts, authorisation that an
 * operator may fix) is worth retrying. RECORD_LIST_TOO_LARGE is Java's RecordTooLargeException.
 */
const PERMANENT_KAFKA_ERRORS: Record<string, PermanentPublishReason> = {
  MESSAGE_TOO_LARGE: 'too-large',
  RECORD_LIST_TOO_LARGE: 'too-large',
  INVALID_RECORD: 'rejected',
  CORRUPT_MESSAGE: 'rejected',
  INVALID_TOPIC_EXCEPTION: 'rejected',
  UNSUPPORTED_FOR_MESSAGE_FORMAT: 'rejected',
};

/**
 * The reason an error means the message can never be published, or null when trying again may
 * work. kafkajs wraps the broker's protocol error (which carries `type`) in a non-retriable error
 * whose `cause` is the original, so the chain is followed.
 */
export function permanentPublishReason(err: unknown): PermanentPublishReason | null {
  const seen = new Set<unknown>();
  let current: unknown = err;
  while (typeof current === 'object' && current !== null && !seen.has(current)) {
    seen.add(current);
    if (current instanceof PublishRejectedError) return current.reason;
    const { type, cause } = current as { type?: unknown; cause?: unknown };
    if (typeof type === 'string' && type in PERMANENT_KAFKA_ERRORS) return PERMANENT_KAFKA_ERRORS[type]!;
    current = cause;
  }
  return null;
}

export const isPermanentPublishError = (err: unknown) => permanentPublishReason(err) !== null;
