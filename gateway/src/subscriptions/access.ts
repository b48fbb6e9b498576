import type { GraphQLError } from 'graphql';
import type { Caller, Envelope, FeedAccess, FeedScope, SubscriptionFeed } from '@waooaw/shared';
import { forbidden, unauthenticated } from '@waooaw/shared';
import type { EventRoute } from './listeners';

/** Event data, as the feed delivers it. */
type EventData = Record<string, unknown>;

/**
 * What a subscription may hear: refused with a typed error, or a test applied to every event; `own`
 * when that test is "the caller's own events" and nothing more (then only those need offering).
 */
export type FeedDecision =
  { error: GraphQLError } | { admits: (data: EventData) => boolean; own?: EventRoute };

const inScope = (scope: FeedScope, data: EventData) =>
  scope === 'all' ||
  scope.fields.some((f) => {
    const value = data[f];
    return typeof value === 'string' && scope.values.includes(value);
  });

/**
 * Who hears what of a subscription feed (its `access` entry in subscriptionFeeds). Pure, so each
 * rule is unit-tested without a socket: the gateway calls it once per subscription and applies
 * `admits` to every event before any payload (or entity query) is built.
 * - No `access`: a public feed, every caller hears every event.
 * - `roles`: only callers with one of them may subscribe.
 * - `ownerField`: a signed-in caller hears their own events (anonymous callers are refused).
 * - `staff`: per role, the other callers' events it hears; a role not listed hears none of them.
 */
export function feedAccess(
  name: string,
  access: FeedAccess | undefined,
  caller: Caller | null,
): FeedDecision {
  if (!access) return { admits: () => true };
  const { roles, ownerField, staff } = access;
  if (roles && !caller?.roles.some((r) => roles.includes(r))) {
    const message = `${name} is for ${roles.join(', ')}; sign in with one of those roles`;
    return { error: caller ? forbidden(message) : unauthenticated(message) };
  }
  if (!caller)
    return {
      error: unauthenticated(
        `${name} delivers each caller's own events; sign in (send a bearer token in connectionParams.authorization)`,
      ),
    };
  // A feed limited to some roles and saying nothing more: those roles hear everything.
  if (ownerField === undefined && staff === undefined) return { admits: () => true };
  const scopes = caller.roles.flatMap((r) => staff?.[r] ?? []);
  if (scopes.includes('all')) return { admits: () => true };
  if (scopes.length === 0 && ownerField !== undefined) {
    const sub = caller.sub;
    return { admits: (data) => data[ownerField] === sub, own: { field: ownerField, value: sub } };
  }
  return {
    admits: (data) =>
      (ownerField !== undefined && data[ownerField] === caller.sub) ||
      scopes.some((scope) => inScope(scope, data)),
  };
}

/**
 * Which of its feed's events one subscription hears: those of the feed's event type that the caller
 * may hear (`admits`, from feedAccess) and that every filter argument given matches. A filter names
 * an argument, or a field of an input argument (`filter.category`); one left out or null filters
 * nothing.
 */
export function eventFilter(
  feed: Pick<SubscriptionFeed, 'event' | 'filters'>,
  values: Record<string, unknown>,
  admits: (data: EventData) => boolean,
): (envelope: Pick<Envelope<EventData>, 'type' | 'data'>) => boolean {
  const argument = (path: string) => argumentValue(values, path);
  return (envelope) =>
    envelope.type === feed.event.type &&
    admits(envelope.data) &&
    Object.entries(feed.filters).every(([arg, dataField]) => {
      const wanted = argument(arg);
      return wanted === undefined || wanted === null || envelope.data[dataField] === wanted;
    });
}

/**
 * A route (listeners.ts) that every event `eventFilter` would let through matches: the caller's own
 * events when that is all it may hear, else the first filter argument given. None when the
 * subscription may hear events of any value of every field (a staff member on every task).
 */
export function eventRoute(
  feed: Pick<SubscriptionFeed, 'filters'>,
  values: Record<string, unknown>,
  decision: { own?: EventRoute },
): EventRoute | undefined {
  if (decision.own) return decision.own;
  for (const [arg, field] of Object.entries(feed.filters)) {
    const wanted = argumentValue(values, arg);
    if (wanted !== undefined && wanted !== null) return { field, value: wanted };
  }
  return undefined;
}

/** An argument's value by name, or a field of an input argument by `arg.field`. */
function argumentValue(values: Record<string, unknown>, path: string): unknown {
  return path
    .split('.')
    .reduce<unknown>(
      (value, key) =>
        typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined,
      values,
    );
}
