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
  /** payload field -> root query field taking `id`, and the event data field holding that id */
  entities: Record<string, { rootField: string; idFrom: string }>;
  /**
   * Who may receive an event. `roles`: only callers with one of them may subscribe at all.
   * `ownerField`: a caller whose only role is customer receives just the events whose data field
   * equals their own id (staff and support roles receive all). Absent: every caller, every event.
   */
  access?: { roles?: readonly Role[]; ownerField?: string };
}

const SUPPORT_STAFF: readonly Role[] = ['support-l1', 'support-l2', 'support-l3', 'operator', 'admin'];

export const subscriptionFeeds: Record<string, SubscriptionFeed> = {
  agentLifecycleChanged: {
    event: identityEvents.agentLifecycleChanged,
    filters: { agentId: 'agentId' },
    entities: { agent: { rootField: 'agent', idFrom: 'agentId' } },
  },
  agentHealthChanged: {
    event: discoveryEvents.healthChanged,
    filters: { agentId: 'agentId' },
    entities: {
      agent: { rootField: 'agent', idFrom: 'agentId' },
      instance: { rootField: 'serviceInstance', idFrom: 'instanceId' },
    },
  },
  taskUpdated: {
    event: orchestrationEvents.taskUpdated,
    filters: { id: 'taskId' },
    entities: { task: { rootField: 'task', idFrom: 'taskId' } },
    access: { ownerField: 'customerId' },
  },
  workflowUpdated: {
    event: orchestrationEvents.workflowUpdated,
    filters: { id: 'workflowId' },
    entities: { workflow: { rootField: 'workflow', idFrom: 'workflowId' } },
  },
  activityFeed: {
    event: marketplaceEvents.activityCreated,
    filters: { 'filter.category': 'category', 'filter.agentId': 'agentId' },
    entities: {
      listing: { rootField: 'listing', idFrom: 'agentId' },
      agent: { rootField: 'agent', idFrom: 'agentId' },
    },
  },
  ticketUpdated: {
    event: supportEvents.ticketUpdated,
    filters: { id: 'ticketId' },
    entities: { ticket: { rootField: 'ticket', idFrom: 'ticketId' } },
    access: { ownerField: 'customerId' },
  },
  supportQueueChanged: {
    event: supportEvents.queueChanged,
    filters: { tier: 'tier' },
    entities: { ticket: { rootField: 'ticket', idFrom: 'ticketId' } },
    access: { roles: SUPPORT_STAFF },
  },
};
