import type { Role } from '../graphql/caller';
import type { EventDefinition } from '../kafka/events';
import { discoveryEvents } from './discovery';
import { identityEvents } from './identity';
import { marketplaceEvents } from './marketplace';
import { supportEvents } from './support';
import { orchestrationEvents } from './orchestration';

/**
 * How a Subscription field of the supergraph is fed: the event it delivers, which arguments filter
 * on which event field, and which payload fields are entities the gateway resolves through a root
 * query (`agent` -> `agent(id: <data.agentId>)`). The other payload fields come from the event's
 * data by name. Adding a subscription means SDL in the owning subgraph plus an entry here.
 */
export interface SubscriptionFeed {
  event: EventDefinition;
  /** argument name, or `arg.field` of an input argument -> event data field it must equal (when given) */
  filters: Record<string, string>;
  /**
   * payload field -> root query field taking `id`, and the event data field holding that id;
   * `listField`, a root query field taking `ids` and answering in their order, looks up many at once
   * (then the fields other subgraphs add go out in one request per subgraph, not one per entity).
   */
  entities: Record<string, EntityFeedField>;
  /** Who may subscribe and which events each caller hears; absent: a public feed (see FeedAccess). */
  access?: FeedAccess;
}

/**
 * Which of a feed's events a role hears beyond its own: `'all'` of them, or those whose event data
 * holds one of `values` in any of `fields` (a support tier hears the tickets at its tier or below).
 */
export type FeedScope = 'all' | { fields: readonly string[]; values: readonly string[] };

/**
 * Who may receive a feed's events. The gateway applies it to every event before building a payload.
 * - `roles`: only callers with one of them may subscribe at all (others FORBIDDEN, anonymous UNAUTHENTICATED).
 * - `ownerField`: the event data field naming whose event it is; a signed-in caller hears the events
 *   that are their own, and an anonymous caller may not subscribe (UNAUTHENTICATED).
 * - `staff`: per role, what it hears beyond its own. A role not listed hears only its own events:
 *   being signed in with some other role (support-l1 on task events) is not a reason to hear others'.
 * A feed without `access` is public: every caller, every event; its payload type must then carry no
 * customer's private ids (customer, trial, task ids...).
 */
export interface FeedAccess {
  roles?: readonly Role[];
  ownerField?: string;
  staff?: Partial<Record<Role, FeedScope>>;
}

export interface EntityFeedField {
  rootField: string;
  idFrom: string;
  listField?: string;
}

/** An event's agent, by its `agentId`. */
const AGENT: EntityFeedField = { rootField: 'agent', idFrom: 'agentId', listField: 'agentsByIds' };

const SUPPORT_STAFF: readonly Role[] = ['support-l1', 'support-l2', 'support-l3', 'operator', 'admin'];
/** Operators and admins hear every customer's tasks and workflows; nobody else but the owner does. */
const PLATFORM_STAFF = { operator: 'all', admin: 'all' } as const satisfies Partial<Record<Role, FeedScope>>;
/**
 * Support works on tickets at its tier or below (support's assertCanWorkAt), so it hears their
 * changes: the tier a change left (`previousTier`, so an escalation away is heard) or reached (`tier`).
 */
const TICKET_STAFF = {
  ...PLATFORM_STAFF,
  'support-l3': 'all',
  'support-l2': { fields: ['tier', 'previousTier'], values: ['L1', 'L2'] },
  'support-l1': { fields: ['tier', 'previousTier'], values: ['L1'] },
} as const satisfies Partial<Record<Role, FeedScope>>;

export const subscriptionFeeds: Record<string, SubscriptionFeed> = {
  agentLifecycleChanged: {
    event: identityEvents.agentLifecycleChanged,
    filters: { agentId: 'agentId' },
    entities: { agent: AGENT },
  },
  agentHealthChanged: {
    event: discoveryEvents.healthChanged,
    filters: { agentId: 'agentId' },
    entities: {
      agent: AGENT,
      instance: { rootField: 'serviceInstance', idFrom: 'instanceId' },
    },
  },
  taskUpdated: {
    event: orchestrationEvents.taskUpdated,
    filters: { id: 'taskId' },
    entities: {
      task: { rootField: 'task', idFrom: 'taskId' },
      agent: AGENT,
    },
    access: { ownerField: 'customerId', staff: PLATFORM_STAFF },
  },
  workflowUpdated: {
    event: orchestrationEvents.workflowUpdated,
    filters: { id: 'workflowId' },
    entities: { workflow: { rootField: 'workflow', idFrom: 'workflowId' } },
    access: { ownerField: 'customerId', staff: PLATFORM_STAFF },
  },
  activityFeed: {
    event: marketplaceEvents.activityCreated,
    filters: { 'filter.category': 'category', 'filter.agentId': 'agentId' },
    entities: {
      listing: { rootField: 'listing', idFrom: 'agentId' },
      agent: AGENT,
    },
  },
  businessFiguresChanged: {
    // The activity that moves the figures (a trial started or ended, a deliverable, a subscription,
    // a review) is the signal: the client queries the figures again. Unlike activityFeed it carries
    // the trial's id, so a customer hears only their own trials' events and staff everybody's.
    event: marketplaceEvents.activityCreated,
    filters: { agentId: 'agentId', category: 'category' },
    entities: { agent: AGENT },
    access: { ownerField: 'customerId', staff: PLATFORM_STAFF },
  },
  ticketUpdated: {
    event: supportEvents.ticketUpdated,
    filters: { id: 'ticketId' },
    entities: { ticket: { rootField: 'ticket', idFrom: 'ticketId' } },
    access: { ownerField: 'customerId', staff: TICKET_STAFF },
  },
  supportQueueChanged: {
    event: supportEvents.queueChanged,
    filters: { tier: 'tier' },
    entities: { ticket: { rootField: 'ticket', idFrom: 'ticketId' } },
    // Every support tier reads every queue (support's supportQueue query), so each hears them all.
    access: {
      roles: SUPPORT_STAFF,
      staff: Object.fromEntries(SUPPORT_STAFF.map((r) => [r, 'all' as const])),
    },
  },
};
