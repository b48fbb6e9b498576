/**
 * The live scenario's counting, free of I/O so every rule is unit-tested: which clients subscribe to
 * what, which events each one is owed, what it received of them and how late, and the figures read
 * from Prometheus and /proc. Times are wall-clock ms since the epoch (Kafka's timestamps are).
 */
import type { FeedAccess, Role } from '@waooaw/shared';
import { subscriptionFeeds } from '@waooaw/shared';
import { apportion } from './fleet';

export const LIVE_FEEDS = [
  'activityFeed',
  'agentHealthChanged',
  'agentLifecycleChanged',
  'taskUpdated',
] as const;
export type LiveFeed = (typeof LIVE_FEEDS)[number];

/**
 * What each feed's clients subscribe to. Every payload has an entity resolved from another subgraph
 * than the event's own (and a second entity or a field of a third), so an event costs the gateway
 * real query planning; the scalar fields are those the event's key is made of (see eventKey).
 * Task subscribers select the update's `agent`, which reads alike for the task's owner and the
 * operators, not `task` ("the task as it is now"), which is the owner's data and so resolved for
 * each subscriber on its own (audience.ts): a live task view has the update's own fields.
 */
export const LIVE_QUERIES: Record<LiveFeed, string> = {
  activityFeed: `subscription { activityFeed { activityId kind at agent { handle name } listing { name } } }`,
  agentHealthChanged: `subscription { agentHealthChanged { instanceId agentId from to at agent { handle name } instance { id health { status } } } }`,
  agentLifecycleChanged: `subscription($agentId: ID) { agentLifecycleChanged(agentId: $agentId) { agentId from to at agent { handle name health } } }`,
  taskUpdated: `subscription { taskUpdated { taskId status attempts at agent { handle name listing { name } } } }`,
};

/** Shares of the clients per feed (operators come on top, see planLiveClients). */
const FEED_SHARES: Record<LiveFeed, number> = {
  activityFeed: 0.3,
  agentHealthChanged: 0.2,
  agentLifecycleChanged: 0.2,
  taskUpdated: 0.3,
};

/** One client of the run: a caller of its own, one socket, one subscription. */
export interface LiveClientPlan {
  index: number;
  sub: string;
  roles: Role[];
  feed: LiveFeed;
  /** The subscription's variables (its filter arguments). */
  variables: Record<string, string>;
}

/**
 * `n` clients, each its own caller: customers spread over the four feeds (lifecycle subscribers
 * over `lifecycleAgents`, by agentId), and one operator per 5,000 (at least one) on taskUpdated,
 * where staff hear every customer's tasks. Feeds alternate in the list, so connecting in list order
 * brings every feed up from the start.
 */
export function planLiveClients(
  n: number,
  runId: string,
  lifecycleAgents: readonly string[],
): LiveClientPlan[] {
  const operators = Math.min(n, Math.max(1, Math.round(n / 5000)));
  const counts = apportion(
    n - operators,
    LIVE_FEEDS.map((f) => FEED_SHARES[f]),
  );
  if (lifecycleAgents.length === 0) {
    // Without agents to follow, their share goes to the activity feed.
    counts[0]! += counts[2]!;
    counts[2] = 0;
  }
  const left = [...counts];
  const plans: LiveClientPlan[] = [];
  let lifecycle = 0;
  while (left.some((c) => c > 0))
    for (const [f, feed] of LIVE_FEEDS.entries()) {
      if (left[f]! <= 0) continue;
      left[f]!--;
      const index = plans.length;
      const variables: Record<string, string> =
        feed === 'agentLifecycleChanged'
          ? { agentId: lifecycleAgents[lifecycle++ % lifecycleAgents.length]! }
          : {};
      plans.push({ index, sub: `live-${runId}-c${index}`, roles: ['customer'], feed, variables });
    }
  for (let k = 0; k < operators; k++) {
    const index = plans.length;
    plans.push({
      index,
      sub: `live-${runId}-op${k}`,
      roles: ['operator'],
      feed: 'taskUpdated',
      variables: {},
    });
  }
  return plans;
}

const ms = (at: unknown) => (typeof at === 'string' || typeof at === 'number' ? new Date(at).getTime() : NaN);
const text = (v: unknown) =>
  typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : '';

/**
 * What names one event of a feed, the same whether read from the Kafka message's data or from the
 * payload a client received (whose scalar fields are the data's, by name): the activity's id, or
 * the subject, the transition and its time. `at` is compared as a time, not as text, so a gateway
 * that formats DateTime differently still matches.
 */
export function eventKey(feed: LiveFeed, data: Record<string, unknown>): string {
  switch (feed) {
    case 'activityFeed':
      return text(data.activityId);
    case 'agentHealthChanged':
      return `${text(data.instanceId)}|${text(data.from)}|${text(data.to)}|${ms(data.at)}`;
    case 'agentLifecycleChanged':
      return `${text(data.agentId)}|${text(data.from)}|${text(data.to)}|${ms(data.at)}`;
    case 'taskUpdated':
      return `${text(data.taskId)}|${text(data.status)}|${text(data.attempts)}|${ms(data.at)}`;
  }
}

/** One message of a feed's topic, as read from Kafka: the ground truth. */
export interface TruthEvent {
  feed: LiveFeed;
  key: string;
  /** The producer's timestamp (ms): when the event reached Kafka. */
  timestamp: number;
  /** The event's own time (data.at, ms): when the service made the change. */
  at: number;
  data: Record<string, unknown>;
  /** Published between the window's start and end (what clients are owed); later ones are read only to recognise receipts. */
  inWindow: boolean;
}

/** A Kafka message of one of the feeds' topics as a TruthEvent. */
export function truthEvent(
  feed: LiveFeed,
  data: Record<string, unknown>,
  timestamp: number,
  inWindow: boolean,
): TruthEvent {
  return { feed, key: eventKey(feed, data), timestamp, at: ms(data.at), data, inWindow };
}

const pathValue = (values: Record<string, unknown>, path: string): unknown =>
  path
    .split('.')
    .reduce<unknown>(
      (v, k) => (v && typeof v === 'object' ? (v as Record<string, unknown>)[k] : undefined),
      values,
    );

/**
 * Whether a caller may hear an event of a feed with this access (shared's contract, read here
 * independently of the gateway's own code so that a bug there shows): public feeds to everyone; a
 * role-restricted feed only to those roles; an owned event to its owner, and to staff by their scope.
 */
export function mayHear(
  access: FeedAccess | undefined,
  caller: { sub: string; roles: readonly Role[] },
  data: Record<string, unknown>,
): boolean {
  if (!access) return true;
  if (access.roles && !caller.roles.some((r) => access.roles!.includes(r))) return false;
  if (access.ownerField && data[access.ownerField] === caller.sub) return true;
  for (const role of caller.roles) {
    const scope = access.staff?.[role];
    if (scope === 'all') return true;
    if (scope && scope.fields.some((f) => scope.values.includes(text(data[f])))) return true;
  }
  return false;
}

/** Whether a client is owed an event: its feed, its filter arguments (the contract's `filters`) and its access. */
export function owes(plan: LiveClientPlan, event: TruthEvent): boolean {
  if (plan.feed !== event.feed || !event.inWindow) return false;
  const feed = subscriptionFeeds[plan.feed]!;
  for (const [argument, field] of Object.entries(feed.filters)) {
    const wanted = pathValue(plan.variables, argument);
    if (wanted !== undefined && wanted !== null && event.data[field] !== wanted) return false;
  }
  return mayHear(feed.access, plan, event.data);
}

/** The truth indexed for the comparison: by feed and key, each feed's window events, and those by owner. */
export function indexTruth(events: readonly TruthEvent[]) {
  const byKey = new Map<LiveFeed, Map<string, TruthEvent>>(LIVE_FEEDS.map((f) => [f, new Map()]));
  const windowByFeed = new Map<LiveFeed, TruthEvent[]>(LIVE_FEEDS.map((f) => [f, []]));
  const windowByOwner = new Map<LiveFeed, Map<unknown, TruthEvent[]>>(LIVE_FEEDS.map((f) => [f, new Map()]));
  for (const e of events) {
    byKey.get(e.feed)!.set(e.key, e);
    if (!e.inWindow) continue;
    windowByFeed.get(e.feed)!.push(e);
    const ownerField = subscriptionFeeds[e.feed]!.access?.ownerField;
    if (ownerField) {
      const owned = windowByOwner.get(e.feed)!;
      const owner = e.data[ownerField];
      const list = owned.get(owner) ?? [];
      list.push(e);
      owned.set(owner, list);
    }
  }
  return { byKey, windowByFeed, windowByOwner };
}
export type TruthIndex = ReturnType<typeof indexTruth>;

/**
 * The keys of the events a client is owed. A caller with no staff scope on an owned feed can only
 * be owed its own events, so only those are looked at (ten thousand customers against every task
 * event of a run would otherwise take a while).
 */
export function expectedKeys(plan: LiveClientPlan, truth: TruthIndex): Set<string> {
  const access = subscriptionFeeds[plan.feed]!.access;
  const ownOnly = access?.ownerField && !plan.roles.some((r) => access.staff?.[r]);
  const candidates = ownOnly
    ? (truth.windowByOwner.get(plan.feed)!.get(plan.sub) ?? [])
    : truth.windowByFeed.get(plan.feed)!;
  const keys = new Set<string>();
  for (const e of candidates) if (owes(plan, e)) keys.add(e.key);
  return keys;
}

/** One payload a client received: its event's key and when (Date.now()). */
export interface Receipt {
  key: string;
  at: number;
}

export interface ClientCount {
  expected: number;
  /** Owed events received (each once, however often it came). */
  delivered: number;
  missed: number;
  /** Of the missed, those older than the first owed event it received: its subscription started late, rather than losing events midway. */
  missedBeforeFirst: number;
  /** Extra receipts of an event already received. */
  duplicates: number;
  /** Receipts of a window event of its feed it was not owed (another customer's task): an access leak or a filter ignored. */
  foreign: number;
  /** Receipts of events after the window's end (neither owed nor wrong). */
  afterWindow: number;
  /** Receipts matching no message of the topic (a payload the bench cannot name). */
  unmatched: number;
  /** Per delivered event: receipt minus the Kafka timestamp, and receipt minus the event's own time, ms. */
  fromKafkaMs: number[];
  fromEventMs: number[];
}

/** What one client received of what it was owed. */
export function countClient(
  plan: LiveClientPlan,
  expected: ReadonlySet<string>,
  truth: TruthIndex,
  receipts: readonly Receipt[],
): ClientCount {
  const byKey = truth.byKey.get(plan.feed)!;
  const seen = new Set<string>();
  const c: ClientCount = {
    expected: expected.size,
    delivered: 0,
    missed: 0,
    missedBeforeFirst: 0,
    duplicates: 0,
    foreign: 0,
    afterWindow: 0,
    unmatched: 0,
    fromKafkaMs: [],
    fromEventMs: [],
  };
  let firstOwed = Number.POSITIVE_INFINITY;
  for (const r of receipts) {
    const event = byKey.get(r.key);
    if (!event) c.unmatched++;
    else if (!event.inWindow) c.afterWindow++;
    else if (!expected.has(r.key)) c.foreign++;
    else if (seen.has(r.key)) c.duplicates++;
    else {
      seen.add(r.key);
      c.delivered++;
      c.fromKafkaMs.push(r.at - event.timestamp);
      if (Number.isFinite(event.at)) c.fromEventMs.push(r.at - event.at);
      firstOwed = Math.min(firstOwed, event.timestamp);
    }
  }
  for (const key of expected) {
    if (seen.has(key)) continue;
    c.missed++;
    if (byKey.get(key)!.timestamp < firstOwed && Number.isFinite(firstOwed)) c.missedBeforeFirst++;
  }
  return c;
}

/** The soft `Max open files` of /proc/<pid>/limits (Infinity when unlimited, null when absent). */
export function openFilesLimit(limits: string): number | null {
  const match = /^Max open files\s+(\S+)/m.exec(limits);
  if (!match) return null;
  return match[1] === 'unlimited' ? Number.POSITIVE_INFINITY : Number(match[1]);
}

/** Files a process needs beside its sockets (modules, logs, Kafka and MongoDB connections, the subgraphs). */
export const OPEN_FILES_MARGIN = 1000;

/** Why `clients` sockets cannot be held under this limit, or null when they can. */
export function openFilesProblem(who: string, limit: number | null, clients: number): string | null {
  if (limit === null || limit >= clients + OPEN_FILES_MARGIN) return null;
  return `${who} may open ${limit} files (ulimit -n) but ${clients} clients need at least ${clients + OPEN_FILES_MARGIN} (one socket each plus ${OPEN_FILES_MARGIN}): raise it (ulimit -n ${clients + OPEN_FILES_MARGIN}) in the shell that runs the bench, and the platform's if it is already running, or pass fewer --clients`;
}
