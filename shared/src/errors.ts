import { GraphQLError } from 'graphql';
import mongoose from 'mongoose';
import { isTransientError } from './faults';

/**
 * The stable `extensions.code` values clients can rely on. Domain codes are added here as the
 * services that raise them appear, so the full list lives in one place.
 */
export const ErrorCode = {
  BAD_USER_INPUT: 'BAD_USER_INPUT',
  NOT_FOUND: 'NOT_FOUND',
  UNAUTHENTICATED: 'UNAUTHENTICATED',
  FORBIDDEN: 'FORBIDDEN',
  CONFLICT: 'CONFLICT',
  INTERNAL_SERVER_ERROR: 'INTERNAL_SERVER_ERROR',
  /**
   * any service: a dependency the request needs (the database, the message broker) did not answer
   * in time; nothing is wrong with the request. Retry it after `extensions.retryAfterSeconds`.
   */
  SERVICE_UNAVAILABLE: 'SERVICE_UNAVAILABLE',
  /** http: the request body is larger than the server accepts (HTTP 413); `extensions.maxBytes` is the limit. */
  PAYLOAD_TOO_LARGE: 'PAYLOAD_TOO_LARGE',
  /** identity: a lifecycle move the state machine does not allow; `extensions.allowed` lists the targets. */
  INVALID_LIFECYCLE_TRANSITION: 'INVALID_LIFECYCLE_TRANSITION',
  /** factory: YAML that is malformed or breaks the definition schema; `extensions.problems` has line, column and path. */
  INVALID_AGENT_DEFINITION: 'INVALID_AGENT_DEFINITION',
  /** gateway: the operation is deeper or costlier than allowed; `extensions` has the measure and the limit. */
  QUERY_TOO_COMPLEX: 'QUERY_TOO_COMPLEX',
  /** gateway: the subscription's `after` cursor is older than the resume window or the topic's retention; `extensions.reason` says which (MAX_AGE, RETENTION). Subscribe without `after` and reload the state. */
  CURSOR_EXPIRED: 'CURSOR_EXPIRED',
  /** gateway: too many requests from this caller; `extensions.retryAfterSeconds` says when to retry. */
  RATE_LIMITED: 'RATE_LIMITED',
  /**
   * gateway: the WebSocket already runs as many operations as one socket may, or (with
   * `extensions.scope: 'caller'`) the caller already holds as many subscriptions over all its sockets
   * as it may; `extensions.limit`. Complete one first.
   */
  TOO_MANY_SUBSCRIPTIONS: 'TOO_MANY_SUBSCRIPTIONS',
  /** gateway: the audit log cannot be written, so no mutation runs (none runs unaudited); retry later. */
  AUDIT_UNAVAILABLE: 'AUDIT_UNAVAILABLE',
  /** gateway: a subgraph did not answer; the fields it provides are null, `extensions.serviceName` names it. */
  SUBGRAPH_UNAVAILABLE: 'SUBGRAPH_UNAVAILABLE',
  /** discovery: no instance can take the work now; `extensions` counts the instances by why they were skipped. */
  NO_INSTANCE_AVAILABLE: 'NO_INSTANCE_AVAILABLE',
  /**
   * orchestration: the customer has as much work queued as one customer may; wait for some to finish
   * or cancel some, then submit again. `extensions.limit` is the limit; `extensions.queued` counts the
   * tasks queued or running (submitTask), `extensions.running` the running workflows (submitWorkflow).
   */
  QUOTA_EXCEEDED: 'QUOTA_EXCEEDED',
  /** orchestration: the workflow's dependencies form a cycle; `extensions.path` lists it (first node repeated). */
  WORKFLOW_CYCLE: 'WORKFLOW_CYCLE',
  /** marketplace: the agent is not taking trials or subscriptions now (not ACTIVE); `extensions.status` says why. */
  AGENT_UNAVAILABLE: 'AGENT_UNAVAILABLE',
  /** marketplace: the customer already has a running trial of this agent; `extensions.trialId` names it. */
  TRIAL_ALREADY_ACTIVE: 'TRIAL_ALREADY_ACTIVE',
  /** marketplace: the customer has as many running trials as allowed; `extensions.limit` and `trialIds`. */
  TRIAL_LIMIT_REACHED: 'TRIAL_LIMIT_REACHED',
  /** marketplace: the customer trialled this agent recently; `extensions.availableFrom` says from when again. */
  TRIAL_COOLDOWN: 'TRIAL_COOLDOWN',
  /** marketplace: the trial has run as many tasks as a trial may; `extensions.limit`. */
  TRIAL_TASK_LIMIT_REACHED: 'TRIAL_TASK_LIMIT_REACHED',
  /** marketplace: the payment provider declined the charge; nothing was charged or changed. */
  PAYMENT_DECLINED: 'PAYMENT_DECLINED',
  /** support: the escalation is not allowed (not to a higher tier, ticket resolved, already asked); `extensions.reason` says which. */
  INVALID_ESCALATION: 'INVALID_ESCALATION',
  /** support: the ticket cannot be reopened (not resolved, or the reopen window is over); `extensions.reopenableUntil`. */
  TICKET_NOT_REOPENABLE: 'TICKET_NOT_REOPENABLE',
} as const;

export type ErrorCode = (typeof ErrorCode)[keyof typeof ErrorCode];

/** An error a user may see: a GraphQL error with a stable code and a message that says what to fix. */
export class PlatformError extends GraphQLError {
  constructor(
    readonly code: ErrorCode,
    message: string,
    extensions: Record<string, unknown> = {},
  ) {
    super(message, { extensions: { ...extensions, code } });
    this.name = 'PlatformError';
  }
}

export const badUserInput = (message: string, extensions?: Record<string, unknown>) =>
  new PlatformError(ErrorCode.BAD_USER_INPUT, message, extensions);

export const notFound = (entity: string, id: string) =>
  new PlatformError(ErrorCode.NOT_FOUND, `${entity} "${id}" does not exist`, { entity, id });

export const unauthenticated = (message = 'Sign in first: this operation needs a valid bearer token') =>
  new PlatformError(ErrorCode.UNAUTHENTICATED, message);

export const forbidden = (message: string) => new PlatformError(ErrorCode.FORBIDDEN, message);

export const conflict = (message: string, extensions?: Record<string, unknown>) =>
  new PlatformError(ErrorCode.CONFLICT, message, extensions);

export interface MongoDuplicateKeyError {
  code: 11000;
  keyValue?: Record<string, unknown>;
  message: string;
}

/** MongoDB's duplicate key error (code 11000): an insert or upsert hit a unique index. */
export function isDuplicateKey(err: unknown): err is MongoDuplicateKeyError {
  return typeof err === 'object' && err !== null && (err as { code?: unknown }).code === 11000;
}

/** MongoDB reports the clashing key as `keyValue`; mongo-java-server only in the message. */
function duplicateKeyFields(err: MongoDuplicateKeyError): Record<string, unknown> {
  if (err.keyValue && Object.keys(err.keyValue).length > 0) return err.keyValue;
  const match = /dup key: \{\s*(.*?)\s*\}/.exec(err.message);
  if (!match?.[1]) return {};
  const fields: Record<string, unknown> = {};
  for (const part of match[1].split(/,\s*/)) {
    const [key, ...rest] = part.split(/:\s*/);
    if (key) fields[key.trim().replace(/^"|"$/g, '')] = rest.join(':').trim().replace(/^"|"$/g, '');
  }
  return fields;
}

/** Seconds a client is told to wait before retrying after SERVICE_UNAVAILABLE (a restart's order). */
const RETRY_AFTER_UNAVAILABLE_S = 5;

/**
 * Turns what a resolver threw into the error the client sees: platform errors pass through,
 * known database failures get their user-facing code, a dependency that did not answer becomes
 * SERVICE_UNAVAILABLE (the client's cue to retry: an INTERNAL_SERVER_ERROR would read as a bug that
 * retrying cannot fix), and anything else becomes an opaque INTERNAL_SERVER_ERROR (the caller logs
 * the original).
 */
export function toPlatformError(err: unknown): GraphQLError {
  if (err instanceof GraphQLError && typeof err.extensions.code === 'string') return err;
  if (isDuplicateKey(err)) {
    const fields = duplicateKeyFields(err);
    const described = Object.entries(fields)
      .map(([k, v]) => `${k} "${String(v)}"`)
      .join(', ');
    return conflict(
      described
        ? `Another record already has ${described}; choose a different value`
        : 'Another record already has this unique value; choose a different value',
      { fields },
    );
  }
  if (err instanceof mongoose.Error.ValidationError) {
    const fields = Object.fromEntries(Object.entries(err.errors).map(([path, e]) => [path, e.message]));
    return badUserInput(`Invalid input: ${Object.values(fields).join('; ')}`, { fields });
  }
  if (err instanceof mongoose.Error.CastError) {
    return badUserInput(`Invalid value for ${err.path}: ${JSON.stringify(err.value)}`, { field: err.path });
  }
  if (isTransientError(err)) {
    return new PlatformError(
      ErrorCode.SERVICE_UNAVAILABLE,
      `A service this request needs (the database or the message broker) did not answer; the request itself is fine: retry it in ${RETRY_AFTER_UNAVAILABLE_S} seconds`,
      { retryAfterSeconds: RETRY_AFTER_UNAVAILABLE_S },
    );
  }
  return new PlatformError(ErrorCode.INTERNAL_SERVER_ERROR, 'Internal server error; it has been logged');
}
