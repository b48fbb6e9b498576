import type { GraphQLError } from 'graphql';
import type { Caller, Envelope, FeedAccess, FeedScope, SubscriptionFeed } from '@waooaw/shared';
import { forbidden, unauthenticated } from '@waooaw/shared';

/** Event data, as the feed delivers it. */
type EventData = Record<string, unknown>;

/** What a subscription may hear: refused with a typed error, or a test applied to every event. */
export type FeedDecision = { error: GraphQLError } | { admits: (data: EventData) => boolean };

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
  const argument = (path: string): unknown =>
    path
      .split('.')
      .reduce<unknown>(
        (value, key) =>
          typeof value === 'object' && value !== null ? (value as Record<string, unknown>)[key] : undefined,
        values,
      );
  return (envelope) =>
    envelope.type === feed.event.type &&
    admits(envelope.data) &&
    Object.entries(feed.filters).every(([arg, dataField]) => {
      const wanted = argument(arg);
      return wanted === undefined || wanted === null || envelope.data[dataField] === wanted;
    });
}
