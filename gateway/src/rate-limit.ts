import type { ApolloServerPlugin } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import { GraphQLError, OperationTypeNode } from 'graphql';
import { ErrorCode } from '@waooaw/shared';
import type { Context } from './context';
import { PAYLOAD_RESOLUTION } from './context';
import type { RootField } from './operation-fields';
import { rootFields } from './operation-fields';
import { refusal } from './refusal';

export type RateVerdict = { ok: true } | { ok: false; retryAfterSeconds: number };

/**
 * A token bucket per caller: `burst` tokens at once, refilled at `perMinute`; a request may take
 * several tokens at once. Our own because it is a few lines and keeps state in process (one gateway
 * instance per machine here); a shared store would replace the Map when the gateway scales out.
 */
export function createRateLimiter(options: {
  perMinute: number;
  burst: number;
  now?: () => number;
  maxKeys?: number;
}) {
  const now = options.now ?? Date.now;
  const perMs = options.perMinute / 60_000;
  const maxKeys = options.maxKeys ?? 100_000;
  const buckets = new Map<string, { tokens: number; at: number }>();

  const refilled = (key: string) => {
    const t = now();
    const bucket = buckets.get(key) ?? { tokens: options.burst, at: t };
    bucket.tokens = Math.min(options.burst, bucket.tokens + (t - bucket.at) * perMs);
    bucket.at = t;
    buckets.delete(key); // re-insert: the Map's order is then least recently used first
    buckets.set(key, bucket);
    if (buckets.size > maxKeys) buckets.delete(buckets.keys().next().value!);
    return bucket;
  };
  /** Seconds until the bucket holds `amount` tokens (at least 1: clients retry in whole seconds). */
  const wait = (tokens: number, amount: number) => Math.max(1, Math.ceil((amount - tokens) / perMs / 1000));

  return {
    burst: options.burst,
    /** Takes `amount` tokens, or none and says when that many will be there. */
    take: (key: string, amount = 1): RateVerdict => {
      if (amount > options.burst)
        throw new RangeError(`${amount} tokens never fit a bucket of ${options.burst}`);
      const bucket = refilled(key);
      if (bucket.tokens >= amount) {
        bucket.tokens -= amount;
        return { ok: true };
      }
      return { ok: false, retryAfterSeconds: wait(bucket.tokens, amount) };
    },
    /** Seconds until `amount` tokens are there, taking none (0 when they are there now). */
    secondsUntil: (key: string, amount: number): number => {
      const bucket = refilled(key);
      return bucket.tokens >= amount ? 0 : wait(bucket.tokens, amount);
    },
  };
}
export type RateLimiter = ReturnType<typeof createRateLimiter>;

/**
 * Root fields that cost more than their query cost says, in tokens per call (a mutation field not
 * listed costs MUTATION_TOKENS, a query field nothing beyond the query's cost). Open to anonymous
 * callers, these parse a whole YAML document each.
 */
export const COSTLY_FIELDS: Readonly<Record<string, number>> = {
  'Query.validateAgentDefinition': 5,
  'Mutation.submitAgentDefinition': 5,
};
export const MUTATION_TOKENS = 1;

/**
 * What a request is charged: its query cost (one token per `costPerToken` units, at least one) plus
 * each root field's price, so 200 aliased mutations in one request are charged as 200 mutations.
 */
export function requestCharge(
  cost: number | undefined,
  fields: readonly Pick<RootField, 'parentType' | 'name'>[],
  costPerToken: number,
): number {
  const byCost = Math.max(1, Math.ceil((cost ?? 0) / costPerToken));
  let byFields = 0;
  for (const f of fields) {
    byFields +=
      COSTLY_FIELDS[`${f.parentType}.${f.name}`] ?? (f.parentType === 'Mutation' ? MUTATION_TOKENS : 0);
  }
  return byCost + byFields;
}

/**
 * Whose bucket a request draws from: a signed-in caller's own, an anonymous one's address (over
 * HTTP and WebSocket alike, so anonymous clients do not share one bucket).
 */
export const rateLimitKey = (ctx: Pick<Context, 'caller' | 'ip'>) =>
  ctx.caller ? `sub:${ctx.caller.sub}` : `ip:${ctx.ip}`;

const rateLimited = (retryAfterSeconds: number, charge?: number) =>
  new GraphQLError(
    `Too many requests; retry in ${retryAfterSeconds} s${charge ? ` (this request is charged ${charge} tokens)` : ''}`,
    { extensions: { code: ErrorCode.RATE_LIMITED, retryAfterSeconds, ...(charge ? { charge } : {}) } },
  );

/**
 * Rate limits per caller. Every request takes one token when it arrives (parsing and validating it
 * is work too); once the operation is known the rest of its charge is taken before it runs. That
 * happens in responseForOperation, which runs after every plugin's didResolveOperation, so the
 * limits plugin has set `queryCost` whatever order the plugins' own awaits finish in.
 */
export function rateLimitPlugin(limiter: RateLimiter, costPerToken: number): ApolloServerPlugin<Context> {
  return {
    async requestDidStart({ contextValue }) {
      // The gateway's own queries for subscription payloads are not the caller's requests: charged
      // here, a caller with a hundred subscriptions would get RATE_LIMITED payloads, then none. Their
      // work is bounded by its own limits instead (subscriptions per caller, the resolution budget:
      // subscriptions/budget.ts). Only the subscription server sets this mark; a client cannot.
      if (contextValue[PAYLOAD_RESOLUTION]) return {};
      const key = rateLimitKey(contextValue);
      const admission = limiter.take(key);
      return {
        async didResolveOperation() {
          if (admission.ok) return;
          const { retryAfterSeconds } = admission;
          const error = rateLimited(retryAfterSeconds);
          throw new GraphQLError(error.message, {
            extensions: {
              ...error.extensions,
              http: { status: 429, headers: new HeaderMap([['retry-after', String(retryAfterSeconds)]]) },
            },
          });
        },
        async responseForOperation({ schema, document, operation, request, contextValue: ctx }) {
          // Subscriptions are charged by the socket layer; this prices one query or mutation.
          if (operation.operation === OperationTypeNode.SUBSCRIPTION) return null;
          const fields = rootFields(schema, document, operation, request.variables);
          const charge = requestCharge(ctx.queryCost, fields, costPerToken);
          if (charge > limiter.burst) {
            const mutations = fields.filter((f) => f.parentType === 'Mutation').length;
            const error = new GraphQLError(
              `This request is charged ${charge} rate-limit tokens (its cost, ${mutations} mutation fields); at most ${limiter.burst} fit in one request. Send fewer fields per request.`,
              { extensions: { code: ErrorCode.QUERY_TOO_COMPLEX, charge, maxCharge: limiter.burst } },
            );
            return refusal(error, 400);
          }
          // The admission token is already paid; the rest now.
          if (charge <= 1 || limiter.take(rateLimitKey(ctx), charge - 1).ok) return null;
          // Honest for a retry of this request: the time until its whole charge is there.
          const retryAfterSeconds = limiter.secondsUntil(rateLimitKey(ctx), charge);
          return refusal(rateLimited(retryAfterSeconds, charge), 429, [
            ['retry-after', String(retryAfterSeconds)],
          ]);
        },
      };
    },
  };
}
