/**
 * Telling a transient failure (a dependency is unreachable or busy for now: retrying later will work)
 * from a permanent one (the same input fails the same way every time). Consumers wait out the first
 * and dead-letter the second; the outbox and anything else that retries can ask the same question.
 *
 * Pure: no I/O, and no imports of the drivers either. Errors are recognised by their `name`, labels,
 * codes and messages, the way the drivers themselves tell them apart, so two copies of a driver (one
 * bundled with mongoose, one direct) classify alike and this module costs nothing to load.
 */

/**
 * Thrown by code that knows its failure is transient although the error it saw is not recognised
 * below (a peer answered 503, a lock is held elsewhere): the consumer then waits and retries instead
 * of counting the failure towards dead-lettering.
 */
export class TransientError extends Error {
  readonly transient = true;
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = 'TransientError';
  }
}

/**
 * Error classes that always mean "unreachable or not now". MongoDB driver: network errors (their
 * subclasses MongoNetworkTimeoutError and MongoPoolClearedError, PoolClearedOnNetworkError), server
 * selection, a connection pool or topology that was closed or never connected (a process reconnecting
 * or shutting down: the message is fine, this process is not), client-side operation timeouts, stale
 * primaries. mongoose: its server selection error. kafkajs: connection and request errors, no broker
 * or coordinator, lock timeouts, and "retries exhausted" (kafkajs only retries retriable errors, so
 * running out of retries means the cluster stayed unreachable). Node: `AbortSignal.timeout`.
 */
const TRANSIENT_NAMES = new Set([
  'MongoNetworkError',
  'MongoNetworkTimeoutError',
  'MongoPoolClearedError',
  'PoolClearedOnNetworkError',
  'MongoPoolClosedError',
  'MongoWaitQueueTimeoutError',
  'MongoServerSelectionError',
  'MongoTopologyClosedError',
  'MongoNotConnectedError',
  'MongoClientClosedError',
  'MongoServerClosedError',
  'MongoOperationTimeoutError',
  'MongoStalePrimaryError',
  'MongooseServerSelectionError',
  'KafkaJSConnectionError',
  'KafkaJSConnectionClosedError',
  'KafkaJSRequestTimeoutError',
  'KafkaJSNumberOfRetriesExceeded',
  'KafkaJSNoBrokerAvailableError',
  'KafkaJSBrokerNotFound',
  'KafkaJSGroupCoordinatorNotFound',
  'KafkaJSLockTimeout',
  'KafkaJSMetadataNotLoaded',
  'KafkaJSTopicMetadataNotLoaded',
  'TimeoutError',
  'TransientError',
]);

/**
 * MongoDB error labels that say "try again": the server (4.4+) or the driver puts them on errors the
 * retryable-writes and transactions specs allow to be retried. `PoolRequstedRetry` is spelled as the
 * driver spells it.
 */
const TRANSIENT_LABELS = [
  'RetryableWriteError',
  'TransientTransactionError',
  'ResetPool',
  'PoolRequstedRetry',
  'RetryableError',
  'SystemOverloadedError',
];

/**
 * MongoDB server error codes the driver treats as retryable (its RETRYABLE_READ_ERROR_CODES and the
 * SDAM "not primary" / "node is recovering" codes), plus write-concern and maxTimeMS timeouts: all
 * about the replica set's state or load at that moment, none about the document.
 */
const TRANSIENT_MONGO_CODES = new Set([
  6, // HostUnreachable
  7, // HostNotFound
  50, // MaxTimeMSExpired
  64, // WriteConcernTimeout (WriteConcernFailed before 8.1)
  89, // NetworkTimeout
  91, // ShutdownInProgress
  133, // FailedToSatisfyReadPreference
  134, // ReadConcernMajorityNotAvailableYet
  189, // PrimarySteppedDown
  262, // ExceededTimeLimit
  9001, // SocketException
  10058, // LegacyNotPrimary
  10107, // NotWritablePrimary
  11600, // InterruptedAtShutdown
  11602, // InterruptedDueToReplStateChange
  13435, // NotPrimaryNoSecondaryOk
  13436, // NotPrimaryOrSecondary
]);

/** Socket and DNS errors from Node (net, dns) and undici (fetch). */
const TRANSIENT_SYSTEM_CODES = new Set([
  'ECONNREFUSED',
  'ECONNRESET',
  'ECONNABORTED',
  'ETIMEDOUT',
  'EPIPE',
  'EHOSTUNREACH',
  'EHOSTDOWN',
  'ENETUNREACH',
  'ENETDOWN',
  'EAI_AGAIN',
  'UND_ERR_CONNECT_TIMEOUT',
  'UND_ERR_HEADERS_TIMEOUT',
  'UND_ERR_BODY_TIMEOUT',
  'UND_ERR_SOCKET',
  'UND_ERR_CLOSED',
]);

/**
 * Messages without a telling class: mongoose's buffering timeout (a plain MongooseError raised when an
 * operation waited `bufferTimeoutMS` for a connection that is down), and the legacy "not primary" /
 * "node is recovering" texts the driver still matches for servers that send no code.
 */
const TRANSIENT_MESSAGES = [
  /buffering timed out after \d+ ?ms/i,
  /not master|not primary|node is recovering/i,
];

interface ErrorLike {
  name?: unknown;
  message?: unknown;
  code?: unknown;
  retriable?: unknown;
  transient?: unknown;
  errorLabels?: unknown;
  hasErrorLabel?: unknown;
  cause?: unknown;
  reason?: unknown;
  errors?: unknown;
  errorResponse?: unknown;
}

const asErrorLike = (value: unknown): ErrorLike | undefined =>
  value !== null && typeof value === 'object' ? value : undefined;

const summarise = (e: ErrorLike): string =>
  `${typeof e.name === 'string' ? e.name : 'Error'}: ${typeof e.message === 'string' ? e.message : ''}`.slice(
    0,
    300,
  );

/** What in this one error (not its causes) says it is transient, or undefined. */
function ownEvidence(e: ErrorLike): string | undefined {
  const name = typeof e.name === 'string' ? e.name : '';
  const message = typeof e.message === 'string' ? e.message : '';
  if (e.transient === true || TRANSIENT_NAMES.has(name)) return name || 'transient';
  // kafkajs marks every error it raises with `retriable`; protocol errors take it from the Kafka
  // error code (NOT_LEADER_FOR_PARTITION yes, MESSAGE_TOO_LARGE no).
  if (name.startsWith('KafkaJS')) return e.retriable === true ? `${name} (retriable)` : undefined;
  const labels =
    typeof e.hasErrorLabel === 'function'
      ? TRANSIENT_LABELS.filter((label) => (e.hasErrorLabel as (l: string) => boolean).call(e, label))
      : Array.isArray(e.errorLabels)
        ? TRANSIENT_LABELS.filter((label) => (e.errorLabels as unknown[]).includes(label))
        : [];
  if (labels.length > 0) return `${name} labelled ${labels.join(', ')}`;
  const isMongo = name.startsWith('Mongo');
  if (isMongo && typeof e.code === 'number' && TRANSIENT_MONGO_CODES.has(e.code))
    return `${name} code ${e.code}`;
  if (typeof e.code === 'string' && TRANSIENT_SYSTEM_CODES.has(e.code)) return e.code;
  if (isMongo && TRANSIENT_MESSAGES.some((re) => re.test(message))) return summarise(e);
  return undefined;
}

/**
 * Why `err` is transient (the first piece of evidence found, e.g. `MongoServerSelectionError` or
 * `ECONNREFUSED`), or undefined when it is not. Looks through `cause` chains, mongoose's `reason`
 * and AggregateError's `errors` (fetch wraps ECONNREFUSED in a TypeError's cause; Node's
 * happy-eyeballs connect reports one AggregateError for several addresses), a few levels deep.
 *
 * Also through a MongoDB server error's `errorResponse` when that is an error object: a bulk write
 * that failed for a driver reason (the connection was refused or reset mid-batch) is thrown as a
 * `MongoBulkWriteError` whose `errorResponse` is the original network error, with neither its class
 * nor its labels kept on the wrapper. Without this, group-committed writes (insertMany, bulkWrite)
 * turned a MongoDB restart into dead-lettered messages. A server's own answer there is a plain
 * document (no `name`), and its `code` is already copied onto the wrapper, so nothing is read twice.
 */
export function transientEvidence(err: unknown): string | undefined {
  const seen = new Set<unknown>();
  const visit = (value: unknown, depth: number): string | undefined => {
    const e = asErrorLike(value);
    if (!e || depth > 6 || seen.has(e)) return undefined;
    seen.add(e);
    const own = ownEvidence(e);
    if (own) return own;
    const wrapped = e.errorResponse instanceof Error ? [e.errorResponse] : [];
    const errors = Array.isArray(e.errors) ? (e.errors as unknown[]) : [];
    for (const next of [e.cause, e.reason, ...wrapped, ...errors]) {
      const found = visit(next, depth + 1);
      if (found) return found;
    }
    return undefined;
  };
  return visit(err, 0);
}

/**
 * True when retrying later can succeed without anything changing but time: MongoDB or Kafka
 * unreachable, timeouts, not-primary, connection resets, server selection, mongoose buffering
 * timeouts, kafkajs retriable errors. Validation and schema errors, duplicate keys and plain
 * programming errors are not (they fail the same way each time).
 */
export const isTransientError = (err: unknown): boolean => transientEvidence(err) !== undefined;

/** `Name: message` of anything thrown, for logs, dead-letter headers and readiness. */
export function errorSummary(err: unknown): string {
  if (err instanceof Error) return `${err.name}: ${err.message}`;
  const e = asErrorLike(err);
  return e ? summarise(e) : String(err);
}
