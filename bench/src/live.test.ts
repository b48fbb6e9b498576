import { subscriptionFeeds } from '@waooaw/shared';
import type { LiveClientPlan, TruthEvent } from './live';
import { histogramIncrease, histogramQuantile, readHistogram, sumSamples } from './prom-text';
import {
  countClient,
  eventKey,
  expectedKeys,
  indexTruth,
  mayHear,
  openFilesLimit,
  openFilesProblem,
  owes,
  planLiveClients,
  truthEvent,
} from './live';

const AT = '2026-12-05T10:00:00.000Z';
const task = (taskId: string, customerId: string | null, status = 'RUNNING', at = AT) => ({
  taskId,
  status,
  attempts: 1,
  customerId,
  at,
});
const customer = (
  sub: string,
  feed: LiveClientPlan['feed'] = 'taskUpdated',
  variables = {},
): LiveClientPlan => ({
  index: 0,
  sub,
  roles: ['customer'],
  feed,
  variables,
});

describe('live clients', () => {
  it('gives each client a caller of its own, spreads the feeds and adds one operator per 5,000', () => {
    const plans = planLiveClients(300, 'r1', ['a1', 'a2']);
    expect(plans).toHaveLength(300);
    expect(new Set(plans.map((p) => p.sub)).size).toBe(300);
    const byFeed = (f: string) => plans.filter((p) => p.feed === f).length;
    expect(byFeed('activityFeed')).toBe(90);
    expect(byFeed('agentHealthChanged')).toBe(60);
    expect(byFeed('agentLifecycleChanged')).toBe(60);
    expect(byFeed('taskUpdated')).toBe(90); // 89 customers and the operator
    expect(plans.filter((p) => p.roles.includes('operator')).map((p) => p.feed)).toEqual(['taskUpdated']);
    expect(plans.slice(0, 4).map((p) => p.feed)).toEqual([
      'activityFeed',
      'agentHealthChanged',
      'agentLifecycleChanged',
      'taskUpdated',
    ]);
    const followed = plans.filter((p) => p.feed === 'agentLifecycleChanged').map((p) => p.variables.agentId);
    expect(followed.filter((a) => a === 'a1')).toHaveLength(30);
    expect(followed.filter((a) => a === 'a2')).toHaveLength(30);
    expect(planLiveClients(10_000, 'r1', ['a1']).filter((p) => p.roles.includes('operator'))).toHaveLength(2);
  });

  it('gives the lifecycle share to the activity feed when there is no agent to follow', () => {
    const plans = planLiveClients(100, 'r1', []);
    expect(plans.filter((p) => p.feed === 'agentLifecycleChanged')).toHaveLength(0);
    expect(plans.filter((p) => p.feed === 'activityFeed')).toHaveLength(50);
  });
});

describe('what a client is owed', () => {
  it('names an event the same from the Kafka data and from the payload, whatever the time format', () => {
    expect(eventKey('taskUpdated', task('t1', 'c1'))).toBe(
      eventKey('taskUpdated', { taskId: 't1', status: 'RUNNING', attempts: 1, at: '2026-12-05T10:00:00Z' }),
    );
    expect(eventKey('taskUpdated', task('t1', 'c1'))).not.toBe(
      eventKey('taskUpdated', task('t1', 'c1', 'COMPLETED')),
    );
    expect(eventKey('activityFeed', { activityId: 'act-1', at: AT })).toBe('act-1');
  });

  it("follows the contract's access: a customer hears their own tasks, staff by their scope", () => {
    const tasks = subscriptionFeeds.taskUpdated!.access;
    expect(mayHear(tasks, { sub: 'c1', roles: ['customer'] }, { customerId: 'c1' })).toBe(true);
    expect(mayHear(tasks, { sub: 'c1', roles: ['customer'] }, { customerId: 'c2' })).toBe(false);
    expect(mayHear(tasks, { sub: 'op', roles: ['operator'] }, { customerId: 'c2' })).toBe(true);
    expect(mayHear(tasks, { sub: 's1', roles: ['support-l1'] }, { customerId: 'c2' })).toBe(false);
    const tickets = subscriptionFeeds.ticketUpdated!.access;
    expect(mayHear(tickets, { sub: 's1', roles: ['support-l1'] }, { tier: 'L1', previousTier: null })).toBe(
      true,
    );
    expect(mayHear(tickets, { sub: 's1', roles: ['support-l1'] }, { tier: 'L2', previousTier: 'L3' })).toBe(
      false,
    );
    expect(mayHear(undefined, { sub: 'c1', roles: ['customer'] }, {})).toBe(true);
  });

  it('applies the filter arguments and the window', () => {
    const follower = customer('c1', 'agentLifecycleChanged', { agentId: 'a1' });
    const lifecycle = (agentId: string, inWindow = true) =>
      truthEvent('agentLifecycleChanged', { agentId, from: 'ACTIVE', to: 'SUSPENDED', at: AT }, 1, inWindow);
    expect(owes(follower, lifecycle('a1'))).toBe(true);
    expect(owes(follower, lifecycle('a2'))).toBe(false);
    expect(owes(follower, lifecycle('a1', false))).toBe(false);
    expect(owes(customer('c2', 'agentLifecycleChanged'), lifecycle('a2'))).toBe(true);
    expect(owes(customer('c1', 'activityFeed'), lifecycle('a1'))).toBe(false);
  });
});

describe('counting one client', () => {
  const at = (s: number) => new Date(Date.UTC(2026, 11, 5, 10, 0, s)).toISOString();
  const kafkaTs = (s: number) => Date.UTC(2026, 11, 5, 10, 0, s) + 20;
  const events: TruthEvent[] = [
    truthEvent('taskUpdated', task('t1', 'c1', 'QUEUED', at(1)), kafkaTs(1), true),
    truthEvent('taskUpdated', task('t1', 'c1', 'RUNNING', at(2)), kafkaTs(2), true),
    truthEvent('taskUpdated', task('t1', 'c1', 'COMPLETED', at(3)), kafkaTs(3), true),
    truthEvent('taskUpdated', task('t2', 'c2', 'QUEUED', at(4)), kafkaTs(4), true),
    truthEvent('taskUpdated', task('t1', 'c1', 'QUEUED', at(9)), kafkaTs(9), false),
  ];
  const truth = indexTruth(events);
  const me = customer('c1');
  const expected = expectedKeys(me, truth);
  const receipt = (e: TruthEvent, afterMs: number) => ({ key: e.key, at: e.timestamp + afterMs });

  it('owes only its own events of the window', () => {
    expect([...expected]).toEqual(events.slice(0, 3).map((e) => e.key));
    expect(expectedKeys({ ...customer('op'), roles: ['operator'] }, truth).size).toBe(4);
  });

  it('counts delivered, missed, duplicated, foreign, late and unknown receipts, and the latency of each delivery', () => {
    const c = countClient(me, expected, truth, [
      receipt(events[1]!, 40),
      receipt(events[1]!, 50),
      receipt(events[2]!, 60),
      receipt(events[3]!, 10),
      receipt(events[4]!, 10),
      { key: 'nothing', at: 0 },
    ]);
    expect(c).toMatchObject({
      expected: 3,
      delivered: 2,
      missed: 1,
      // The QUEUED it missed came before the first event it received: a late start, not a gap.
      missedBeforeFirst: 1,
      duplicates: 1,
      foreign: 1,
      afterWindow: 1,
      unmatched: 1,
    });
    expect(c.fromKafkaMs).toEqual([40, 60]);
    expect(c.fromEventMs).toEqual([60, 80]);
  });

  it('reports a gap midway as missed, not as a late start', () => {
    const c = countClient(me, expected, truth, [receipt(events[0]!, 5), receipt(events[2]!, 5)]);
    expect(c).toMatchObject({ delivered: 2, missed: 1, missedBeforeFirst: 0 });
    expect(countClient(me, expected, truth, [])).toMatchObject({
      delivered: 0,
      missed: 3,
      missedBeforeFirst: 0,
    });
  });
});

describe('figures of the platform', () => {
  it("sums a counter's samples whose labels match", () => {
    const metrics = [
      '# HELP waooaw_http_request_duration_seconds HTTP requests',
      'waooaw_http_request_duration_seconds_bucket{le="0.005",route="graphql",method="POST",status="200",service="identity"} 3',
      'waooaw_http_request_duration_seconds_count{route="graphql",method="POST",status="200",service="identity"} 120',
      'waooaw_http_request_duration_seconds_count{route="graphql",method="POST",status="400",service="identity"} 5',
      'waooaw_http_request_duration_seconds_count{route="ready",method="GET",status="200",service="identity"} 40',
      'waooaw_http_request_duration_seconds_count_other{route="graphql"} 7',
    ].join('\n');
    expect(sumSamples(metrics, 'waooaw_http_request_duration_seconds_count', { route: 'graphql' })).toBe(125);
    expect(sumSamples(metrics, 'waooaw_http_request_duration_seconds_count')).toBe(165);
    expect(sumSamples('', 'x')).toBe(0);
  });

  it("reads the gateway's event-age histogram over a window and estimates its quantiles", () => {
    const reading = (a: number[], sum: number) =>
      [
        ...['0.1', '0.25', '1', '+Inf'].flatMap((le, i) => [
          `waooaw_subscription_event_age_seconds_bucket{le="${le}",topic="t1"} ${a[i]}`,
          `waooaw_subscription_event_age_seconds_bucket{le="${le}",topic="t2"} ${a[i]}`,
        ]),
        `waooaw_subscription_event_age_seconds_sum{topic="t1"} ${sum}`,
        `waooaw_subscription_event_age_seconds_count{topic="t1"} ${a[3]! * 2}`,
      ].join('\n');
    const before = readHistogram(reading([1, 1, 1, 1], 0.05), 'waooaw_subscription_event_age_seconds');
    expect(before).toEqual({
      buckets: [
        { le: 0.1, count: 2 },
        { le: 0.25, count: 2 },
        { le: 1, count: 2 },
        { le: Infinity, count: 2 },
      ],
      sum: 0.05,
      count: 2,
    });
    // In the window: 2 x (40 under 0.1 s, 40 more under 0.25 s, 18 more under 1 s, 2 above).
    const after = readHistogram(reading([41, 81, 99, 101], 30.05), 'waooaw_subscription_event_age_seconds');
    const window = histogramIncrease(before, after);
    expect(window.count).toBe(200);
    expect(window.sum).toBeCloseTo(30);
    // The 100th of 200 is the 20th of the 80 between 0.1 and 0.25: 0.1 + 0.15 * 20/80.
    expect(histogramQuantile(window, 0.5)).toBeCloseTo(0.1375);
    expect(histogramQuantile(window, 0.2)).toBeCloseTo(0.05);
    // The 198th lies above the last finite bound: all that is known is that it is above 1 s.
    expect(histogramQuantile(window, 0.995)).toBe(1);
    expect(histogramQuantile(histogramIncrease(after, after), 0.5)).toBeNull();
  });

  it('reads the open-files limit and says what to do when it is too low', () => {
    const limits = [
      'Limit                     Soft Limit           Hard Limit           Units',
      'Max processes             95442                95442                processes',
      'Max open files            1024                 524288               files',
    ].join('\n');
    expect(openFilesLimit(limits)).toBe(1024);
    expect(openFilesLimit('Max open files            unlimited            unlimited            files')).toBe(
      Number.POSITIVE_INFINITY,
    );
    expect(openFilesLimit('')).toBeNull();
    expect(openFilesProblem('the bench', 20_000, 10_000)).toBeNull();
    expect(openFilesProblem('the bench', 1024, 10_000)).toMatch(
      /the bench may open 1024 files .*\(ulimit -n 11000\)/,
    );
    expect(openFilesProblem('the bench', null, 10_000)).toBeNull();
  });
});
