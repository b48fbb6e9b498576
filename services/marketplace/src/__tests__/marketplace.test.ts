import { randomUUID } from 'node:crypto';
import { identityEvents, InputLimits } from '@waooaw/shared';
import { pollFor, uniqueName } from '@waooaw/shared/testing';
import { activityIdFor } from '../activity';
import type { ListingRecord } from '../models/listing';
import type { Harness } from './harness';
import { BUSINESS, deliverable, iso, LISTING, START_TRIAL, startMarketplace, TRIAL } from './harness';

interface Listing {
  id: string;
  handle: string;
  name: string;
  headline: string;
  persona: { tagline: string };
  category: string;
  capabilities: string[];
  plans: { id: string; monthlyPriceInr: number }[];
  startingPriceInr: number | null;
  trialDays: number;
  status: string;
  listed: boolean;
  rating: { average: number | null; count: number };
  retentionRate: number | null;
  conversionRate: number | null;
  averageResponseMs: number | null;
  completedTasks: number;
  availability: string;
  availableNow: boolean;
  popularity: number;
  listedAt: string | null;
  sampleDeliverables: { title: string; summary: string; format: string; content: string }[];
}

interface TrialTask {
  id: string;
  capability: string;
  request: string | null;
  status: string;
  error: string | null;
  deliverable: { id: string; title: string } | null;
}

interface Trial {
  id: string;
  customerId: string;
  status: string;
  trialDays: number;
  handle: string;
  startedAt: string | null;
  endsAt: string | null;
  endedAt: string | null;
  cancelReason: string | null;
  businessContext: Record<string, unknown>;
  activation: { name: string; status: string; error: string | null }[];
  tasks: TrialTask[];
  deliverables: { id: string; title: string; content: string; taskId: string; customerId: string }[];
  subscription: { id: string; status: string } | null;
}

interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}

const LISTINGS = `query($filter: ListingFilter, $sort: ListingSort, $first: Int, $after: String) {
  listings(filter: $filter, sort: $sort, first: $first, after: $after) {
    edges { cursor node { id name startingPriceInr rating { average } popularity averageResponseMs listedAt availableNow } }
    pageInfo { hasNextPage endCursor } totalCount } }`;

describe('marketplace', () => {
  let m: Harness;
  beforeAll(async () => {
    m = await startMarketplace();
  });
  afterAll(() => m.stop());

  const listing = async (id: string) =>
    (await m.as('anyone', ['customer'])<{ listing: Listing | null }>(LISTING, { id })).data?.listing ?? null;
  const startTrial = (customer: string, agentId: string, businessContext: unknown = BUSINESS) =>
    m.as(customer)<{ startTrial: Trial }>(START_TRIAL, { input: { agentId, businessContext } });
  const trialAs = async (customer: string, id: string, roles: ('customer' | 'operator')[] = ['customer']) =>
    m.as(customer, roles)<{ trial: Trial | null }>(TRIAL, { id });
  /** Starts a trial that must succeed. */
  const activeTrial = async (customer: string, agentId: string) => {
    const result = await startTrial(customer, agentId);
    expect(result.errors).toBeUndefined();
    expect(result.data!.startTrial.status).toBe('ACTIVE');
    return result.data!.startTrial;
  };
  const customer = () => uniqueName('cust');

  describe('projection', () => {
    it('lists an ACTIVE customer agent with persona, INR plans and headline, announces it and makes a sample deliverable', async () => {
      const agent = await m.registerAgent({
        name: 'WowCare Test',
        description: 'A content marketer for clinics. Writes patient-education articles.',
      });
      const l = await listing(agent.agentId);
      expect(l).toMatchObject({
        id: agent.agentId,
        handle: agent.handle,
        name: 'WowCare Test',
        headline: 'A content marketer for clinics.',
        persona: { tagline: `Tagline of ${agent.handle}` },
        category: 'MARKETING',
        capabilities: ['trial.first-deliverable', 'content.write-article'],
        plans: [
          { id: 'starter', monthlyPriceInr: 10000 },
          { id: 'growth', monthlyPriceInr: 14000 },
        ],
        startingPriceInr: 10000,
        trialDays: 7,
        status: 'ACTIVE',
        listed: true,
        rating: { average: null, count: 0 },
        retentionRate: null,
        conversionRate: null,
        averageResponseMs: null,
        availability: 'UNKNOWN',
        availableNow: false,
        popularity: 0,
        sampleDeliverables: [],
      });
      expect(l!.listedAt).not.toBeNull();

      // Announced once, without naming anyone.
      await pollFor(() => m.activitiesOf(agent.agentId).some((a) => a.kind === 'AGENT_JOINED'), {
        what: 'AGENT_JOINED',
      });
      expect(m.activitiesOf(agent.agentId)[0]).toMatchObject({
        activityId: activityIdFor(`agent-joined:${agent.agentId}`),
        kind: 'AGENT_JOINED',
        handle: agent.handle,
        category: 'MARKETING',
        customerId: null,
        trialId: null,
        message: 'WowCare Test joined the marketplace: A content marketer for clinics.',
      });

      // The sample: one trial.first-deliverable task for a demo business, pinned to the agent, asked
      // for once an instance can run it (before that, orchestration would reject it).
      const sampleTaskId = `sample.${agent.agentId}.1.0.0`;
      await m.registrationsHandled(agent);
      // No sample was decided on (the command would be in the listing's outbox, with the task id) ...
      expect((await m.models.listings.findById(agent.agentId).lean())!.sampleTaskId).toBeNull();
      // ... and none was sent.
      expect(m.commandsFor(sampleTaskId)).toHaveLength(0);
      await m.health(agent, 'HEALTHY');
      await pollFor(() => m.commandsFor(sampleTaskId).length > 0, { what: 'the sample task command' });
      expect(m.commandsFor(sampleTaskId)[0]).toMatchObject({
        taskId: sampleTaskId,
        actor: 'marketplace',
        customerId: null,
        spec: {
          capability: 'trial.first-deliverable',
          agentHandle: agent.handle,
          input: { businessContext: { businessName: 'Sunrise Family Clinic', industry: 'healthcare' } },
        },
      });
      // A rejected sample (no instance after all) is asked for again under a new id.
      await m.taskUpdate(
        { taskId: sampleTaskId, agentId: agent.agentId },
        { status: 'REJECTED', error: 'No registered instance offers it' },
      );
      const retryId = `${sampleTaskId}.r1`;
      await pollFor(() => m.commandsFor(retryId).length > 0, { what: 'the sample task to be asked again' });
      await m.taskUpdate(
        { taskId: retryId, agentId: agent.agentId },
        { status: 'COMPLETED', output: deliverable('Sample plan'), durationMs: 40 },
      );
      const withSample = await pollFor(async () => {
        const found = await listing(agent.agentId);
        return found?.sampleDeliverables.length ? found : undefined;
      });
      expect(withSample.sampleDeliverables).toEqual([
        {
          title: 'Sample plan',
          summary: 'Sample plan (summary)',
          format: 'text/markdown',
          content: '# Sample plan\n\nThe work.\n',
        },
      ]);
      // Registering again (a redelivery or the same version) neither re-announces nor re-samples.
      const repeat = await m.outside.publish(
        identityEvents.agentRegistered,
        { ...m.registration({ handle: agent.handle }), agentId: agent.agentId, outcome: 'UNCHANGED' },
        { subject: agent.agentId },
      );
      await pollFor(async () =>
        (await m.models.listings.findById(agent.agentId).lean())!.appliedEventIds.includes(repeat.id),
      );
      expect(m.activitiesOf(agent.agentId).filter((a) => a.kind === 'AGENT_JOINED')).toHaveLength(1);
      expect(
        m
          .eventsOf('orchestration.task.submit')
          .filter((e) => String(e.subject).startsWith(`sample.${agent.agentId}`))
          .map((e) => e.subject),
      ).toEqual([sampleTaskId, retryId]);
    });

    it('takes the availability discovery reported before the agent’s registration arrived', async () => {
      const handle = uniqueName('wow-early').toLowerCase();
      // An instance known to discovery but not yet linked to an agent id.
      await m.health({ agentId: 'not-linked-yet', handle }, 'HEALTHY', { linked: false });
      await pollFor(async () => (await m.models.handleHealth.findById(handle).lean())?.agentHealth, {
        what: 'the handle’s health to be remembered',
      });
      const agent = await m.registerAgent({ handle });
      const l = await pollFor(async () => {
        const found = await listing(agent.agentId);
        return found?.availableNow ? found : undefined;
      });
      expect(l).toMatchObject({ availability: 'HEALTHY', availableNow: true });
    });

    it('does not list platform agents, keeps the highest version and follows capability changes', async () => {
      const later = m.registration({ name: 'Customer After Platform' });
      const platform = m.registration({ kind: 'PLATFORM', category: 'PLATFORM' });
      // Same key as the customer event that follows: processed first.
      await m.outside.publish(identityEvents.agentRegistered, platform, {
        subject: platform.agentId,
        key: later.agentId,
      });
      await m.outside.publish(identityEvents.agentRegistered, later, { subject: later.agentId });
      await pollFor(async () => (await listing(later.agentId))?.listed);
      expect(await listing(platform.agentId)).toBeNull();

      // A newer version wins; an older one arriving late changes nothing.
      await m.outside.publish(
        identityEvents.agentRegistered,
        { ...later, version: '1.1.0', name: 'Customer v1.1', outcome: 'NEW_VERSION' },
        { subject: later.agentId },
      );
      await pollFor(async () => (await listing(later.agentId))?.name === 'Customer v1.1');
      await m.outside.publish(
        identityEvents.agentRegistered,
        { ...later, version: '1.0.5', name: 'Customer old', outcome: 'NEW_VERSION' },
        { subject: later.agentId },
      );
      await m.outside.publish(
        identityEvents.agentCapabilitiesChanged,
        {
          agentId: later.agentId,
          handle: later.handle,
          version: '1.2.0',
          actor: 'op',
          capabilities: [
            {
              name: 'trial.first-deliverable',
              version: '1.2.0',
              description: 'First deliverable',
              tags: [],
              inputModes: ['application/json'],
              outputModes: ['text/markdown'],
              examples: [],
            },
            {
              name: 'seo.audit-page',
              version: '1.2.0',
              description: 'Audits a page',
              tags: [],
              inputModes: ['application/json'],
              outputModes: ['text/markdown'],
              examples: [],
            },
          ],
        },
        { subject: later.agentId },
      );
      const updated = await pollFor(async () => {
        const l = await listing(later.agentId);
        return l?.capabilities.includes('seo.audit-page') ? l : undefined;
      });
      expect(updated).toMatchObject({ name: 'Customer v1.1', version: '1.2.0' });
    });

    it('removes SUSPENDED agents from listings and trials, and brings them back when ACTIVE again', async () => {
      const industry = uniqueName('ind').toLowerCase();
      const agent = await m.registerAgent({ industries: [industry] });
      const ids = async () =>
        (
          await m.as('anyone', ['customer'])<{ listings: Connection<{ id: string }> }>(LISTINGS, {
            filter: { industry },
          })
        ).data!.listings.edges.map((e) => e.node.id);
      expect(await ids()).toEqual([agent.agentId]);

      await m.lifecycle(agent, 'ACTIVE', 'SUSPENDED');
      await pollFor(async () => (await listing(agent.agentId))?.status === 'SUSPENDED');
      expect(await ids()).toEqual([]);
      expect(await listing(agent.agentId)).toMatchObject({ listed: false, status: 'SUSPENDED' });
      const refused = await startTrial(customer(), agent.agentId);
      expect(refused.errors?.[0]).toMatchObject({
        extensions: { code: 'AGENT_UNAVAILABLE', status: 'SUSPENDED' },
      });
      expect(refused.errors?.[0]?.message).toMatch(/SUSPENDED .*choose another agent/);

      await m.lifecycle(agent, 'SUSPENDED', 'ACTIVE');
      await pollFor(async () => (await ids()).length === 1);
      await m.lifecycle(agent, 'ACTIVE', 'RETIRED');
      await pollFor(async () => (await listing(agent.agentId))?.status === 'RETIRED');
      expect(await ids()).toEqual([]);
    });

    it('follows the agent health: available now while HEALTHY or DEGRADED, AGENT_UNAVAILABLE when it drops', async () => {
      const agent = await m.registerAgent();
      await m.health(agent, 'HEALTHY');
      await pollFor(async () => (await listing(agent.agentId))?.availableNow);
      expect(await listing(agent.agentId)).toMatchObject({ availability: 'HEALTHY', availableNow: true });

      await m.health(agent, 'UNHEALTHY');
      await pollFor(async () => (await listing(agent.agentId))?.availableNow === false);
      await pollFor(() => m.activitiesOf(agent.agentId).some((a) => a.kind === 'AGENT_UNAVAILABLE'));

      // An instance not linked to its agent yet is matched by handle.
      await m.health(agent, 'DEGRADED', { linked: false });
      await pollFor(async () => (await listing(agent.agentId))?.availability === 'DEGRADED');
      expect((await listing(agent.agentId))!.availableNow).toBe(true);
      const activity = await m.as('anyone', ['customer'])<{
        recentActivity: { kind: string; message: string }[];
      }>(`query($f: ActivityFilter) { recentActivity(filter: $f) { kind message } }`, {
        f: { agentId: agent.agentId },
      });
      expect(activity.data!.recentActivity.map((a) => a.kind)).toEqual(['AGENT_UNAVAILABLE', 'AGENT_JOINED']);
    });

    it('keeps the average response time and task counts from finished tasks, each event once', async () => {
      const agent = await m.registerAgent();
      const task = { taskId: `task-${randomUUID()}`, agentId: agent.agentId };
      const first = await m.taskUpdate(task, {
        status: 'COMPLETED',
        durationMs: 100,
        output: deliverable('x'),
      });
      // Kafka delivers the same event again.
      await m.outside.publishEnvelope('orchestration.task.updated', first, task.taskId);
      await m.taskUpdate(
        { taskId: `task-${randomUUID()}`, agentId: null, agentHandle: agent.handle },
        { status: 'FAILED', durationMs: 300, error: 'boom' },
      );
      await m.taskUpdate({ taskId: `task-${randomUUID()}`, agentId: agent.agentId }, { status: 'WORKING' });
      await pollFor(async () => (await listing(agent.agentId))?.averageResponseMs === 200, {
        what: 'the average of 100 and 300 ms',
      });
      expect((await listing(agent.agentId))!.completedTasks).toBe(1);
    });

    it('counts every one of many outcomes that arrive together once, redeliveries among them', async () => {
      const agent = await m.registerAgent();
      const other = await m.registerAgent();
      // 40 tasks of one agent and 10 of another, sent at once so they are handled side by side; a
      // quarter of them is delivered a second time within the same burst.
      const sent = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          m.taskUpdate(
            { taskId: `task-${randomUUID()}`, agentId: i < 40 ? agent.agentId : other.agentId },
            i % 5 === 4
              ? { status: 'FAILED', durationMs: 100, error: 'boom' }
              : { status: 'COMPLETED', durationMs: 10 * (i + 1), output: deliverable(`d${i}`) },
          ),
        ),
      );
      await Promise.all(
        sent
          .filter((_, i) => i % 4 === 0)
          .map((e) => m.outside.publishEnvelope('orchestration.task.updated', e)),
      );
      // agent: i < 40, 8 of them FAILED (100 ms), 32 COMPLETED at 10 * (i + 1) ms.
      const durations = Array.from({ length: 40 }, (_, i) => (i % 5 === 4 ? 100 : 10 * (i + 1)));
      const average = durations.reduce((a, b) => a + b, 0) / durations.length;
      await pollFor(async () => (await listing(agent.agentId))?.averageResponseMs === average, {
        what: `the average of the 40 outcomes, ${average} ms`,
      });
      await pollFor(async () => (await listing(other.agentId))?.completedTasks === 8);
      // Redeliveries of applied events, one more time, change nothing.
      await Promise.all(sent.map((e) => m.outside.publishEnvelope('orchestration.task.updated', e)));
      // A new outcome after them: once it is counted, so would they have been.
      await m.taskUpdate(
        { taskId: `task-${randomUUID()}`, agentId: agent.agentId },
        { status: 'COMPLETED', durationMs: average, output: deliverable('last') },
      );
      await pollFor(async () => (await listing(agent.agentId))?.completedTasks === 33);
      expect(await listing(agent.agentId)).toMatchObject({ completedTasks: 33, averageResponseMs: average });
      expect((await listing(other.agentId))!.completedTasks).toBe(8);
    });

    it("writes a listing's later outcomes with their average in one command, without reading it back", async () => {
      const agent = await m.registerAgent();
      const finished = (durationMs: number) =>
        m.taskUpdate(
          { taskId: `task-${randomUUID()}`, agentId: agent.agentId },
          { status: 'COMPLETED', durationMs, output: deliverable('d') },
        );
      await finished(100);
      await pollFor(async () => (await listing(agent.agentId))?.averageResponseMs === 100);
      // The figures are known now: the next outcomes are written guarded by them.
      const reads = jest.spyOn(m.models.listings, 'findOne');
      try {
        await finished(300);
        await finished(500);
        await pollFor(async () => (await listing(agent.agentId))?.averageResponseMs === 300, {
          what: 'the average of 100, 300 and 500 ms',
        });
        const readsOfIt = reads.mock.calls.filter(([filter]) => {
          const f = filter as Record<string, unknown> | undefined;
          return f?._id === agent.agentId || f?.handle === agent.handle;
        });
        expect(readsOfIt).toHaveLength(0);
      } finally {
        reads.mockRestore();
      }
      expect(await listing(agent.agentId)).toMatchObject({ completedTasks: 3, averageResponseMs: 300 });
    });

    it('resolves the Agent entity to its listing', async () => {
      const agent = await m.registerAgent({ name: 'Entity Agent' });
      const result = await m.as('anyone', ['customer'])<{
        _entities: ({ listing: { name: string } | null } | null)[];
      }>(
        `query($r: [_Any!]!) { _entities(representations: $r) { ... on Agent { listing { name } } ... on Listing { handle } } }`,
        {
          r: [
            { __typename: 'Agent', id: agent.agentId },
            { __typename: 'Agent', id: randomUUID() },
          ],
        },
      );
      expect(result.errors).toBeUndefined();
      expect(result.data!._entities).toEqual([{ listing: { name: 'Entity Agent' } }, { listing: null }]);
    });
  });

  describe('browsing', () => {
    const industry = uniqueName('browse').toLowerCase();
    let agents: Record<'alpha' | 'bravo' | 'charlie' | 'delta' | 'echo', { agentId: string; handle: string }>;

    beforeAll(async () => {
      const [alpha, bravo, charlie, delta, echo] = await Promise.all([
        m.registerAgent({
          name: 'Alpha Writer',
          industries: [industry],
          tags: ['seo', 'blogging'],
          plans: [{ id: 'basic', name: 'Basic', monthlyPrice: 5000 }],
        }),
        m.registerAgent({
          name: 'Bravo Closer',
          category: 'SALES',
          industries: [industry, 'Retail'],
          capabilities: ['trial.first-deliverable', 'sales.find-leads'],
          plans: [
            { id: 'pro', name: 'Pro', monthlyPrice: 30000 },
            { id: 'lite', name: 'Lite', monthlyPrice: 20000 },
          ],
        }),
        m.registerAgent({
          name: 'Charlie Tutor',
          category: 'EDUCATION',
          industries: [industry],
          capabilities: ['trial.first-deliverable', 'tutoring.explain-topic'],
          plans: [{ id: 'std', name: 'Standard', monthlyPrice: 12000 }],
        }),
        m.registerAgent({
          name: 'Delta Planner',
          industries: [industry],
          specialization: 'Content calendars for clinics',
          plans: [{ id: 'std', name: 'Standard', monthlyPrice: 8000 }],
        }),
        m.registerAgent({ name: 'Echo Free', industries: [industry], plans: [] }),
      ]);
      agents = { alpha, bravo, charlie, delta, echo };
      // Health, response times, trials and ratings that make every sort order distinct where it can.
      await Promise.all([
        m.health(alpha, 'HEALTHY'),
        m.health(bravo, 'DEGRADED'),
        m.health(charlie, 'UNHEALTHY'),
      ]);
      for (const [agent, ms] of [
        [alpha, 300],
        [bravo, 100],
        [charlie, 200],
      ] as const)
        await m.taskUpdate(
          { taskId: `task-${randomUUID()}`, agentId: agent.agentId },
          { status: 'COMPLETED', durationMs: ms },
        );
      const rate = async (agentId: string, stars: number) => {
        const who = customer();
        await activeTrial(who, agentId);
        const rated = await m.as(who)(
          `mutation($a: ID!, $s: Int!) { rateAgent(agentId: $a, stars: $s) { id } }`,
          {
            a: agentId,
            s: stars,
          },
        );
        expect(rated.errors).toBeUndefined();
      };
      await rate(alpha.agentId, 5);
      await rate(alpha.agentId, 4);
      await rate(charlie.agentId, 3);
      await rate(delta.agentId, 4);
      await pollFor(
        async () => {
          const l = await m.models.listings.find({ industryKeys: industry }).lean();
          return (
            l.filter((x) => x.availableNow).length === 2 &&
            l.filter((x) => x.averageResponseMs !== null).length === 3 &&
            l.find((x) => x._id === agents.charlie.agentId)?.health === 'UNHEALTHY'
          );
        },
        { what: 'the browse fixtures to settle' },
      );
    });

    const page = async (variables: Record<string, unknown>) => {
      const result = await m.as('anyone', ['customer'])<{ listings: Connection<Listing> }>(
        LISTINGS,
        variables,
      );
      expect(result.errors).toBeUndefined();
      return result.data!.listings;
    };
    const names = async (filter: Record<string, unknown>, sort?: string) =>
      (await page({ filter: { industry, ...filter }, ...(sort ? { sort } : {}), first: 100 })).edges.map(
        (e) => e.node.name,
      );

    it('filters by category, industry, capability, rating, price, availability and free text', async () => {
      expect((await names({})).sort()).toEqual([
        'Alpha Writer',
        'Bravo Closer',
        'Charlie Tutor',
        'Delta Planner',
        'Echo Free',
      ]);
      expect(await names({ category: 'SALES' })).toEqual(['Bravo Closer']);
      expect((await names({ category: 'MARKETING' })).sort()).toEqual([
        'Alpha Writer',
        'Delta Planner',
        'Echo Free',
      ]);
      // Industry is case-insensitive; capability exact.
      expect(
        await page({ filter: { industry: industry.toUpperCase(), capability: 'sales.find-leads' } }),
      ).toMatchObject({
        totalCount: 1,
        edges: [{ node: { name: 'Bravo Closer' } }],
      });
      expect(await names({ capability: 'tutoring.explain-topic' })).toEqual(['Charlie Tutor']);
      expect(await names({ minRating: 4 }, 'RATING')).toEqual(['Alpha Writer', 'Delta Planner']);
      expect(await names({ minRating: 4.6 })).toEqual([]);
      // Against the cheapest plan: Bravo starts at 20000.
      expect(await names({ minPriceInr: 8000, maxPriceInr: 20000 }, 'PRICE_LOW_TO_HIGH')).toEqual([
        'Delta Planner',
        'Charlie Tutor',
        'Bravo Closer',
      ]);
      expect(await names({ maxPriceInr: 5000 })).toEqual(['Alpha Writer']);
      expect((await names({ availableNow: true })).sort()).toEqual(['Alpha Writer', 'Bravo Closer']);
      expect((await names({ availableNow: false })).sort()).toEqual([
        'Charlie Tutor',
        'Delta Planner',
        'Echo Free',
      ]);
      // Every word must match somewhere (name, specialization, tags, industries, capabilities).
      expect(await names({ query: 'alpha SEO' })).toEqual(['Alpha Writer']);
      expect(await names({ query: 'calendars clinics' })).toEqual(['Delta Planner']);
      expect(await names({ query: 'find leads' })).toEqual(['Bravo Closer']);
      expect(await names({ query: 'retail' })).toEqual(['Bravo Closer']);
      expect(await names({ query: 'alpha bravo' })).toEqual([]);
      expect(await names({ query: '.*' })).toEqual([]);
    });

    it('pages through every sort with stable cursors, in the order the sort promises', async () => {
      const records = await m.models.listings.find({ industryKeys: industry }).lean<ListingRecord[]>();
      const byKey = (key: (l: ListingRecord) => number, direction: 1 | -1) =>
        [...records]
          .sort((a, b) => (key(a) - key(b)) * direction || (a._id < b._id ? -1 : 1))
          .map((l) => l.name);
      const expected: Record<string, string[]> = {
        RATING: byKey((l) => l.rating.average ?? 0, -1),
        PRICE_LOW_TO_HIGH: byKey((l) => l.minPriceInr ?? Infinity, 1),
        PRICE_HIGH_TO_LOW: byKey((l) => l.minPriceInr ?? -1, -1),
        POPULARITY: byKey((l) => l.popularity, -1),
        RESPONSE_TIME: byKey((l) => l.averageResponseMs ?? Infinity, 1),
        NEWEST: byKey((l) => l.listedAt!.getTime(), -1),
      };
      // What the figures say, spelled out for the sorts whose order is fully determined.
      expect(expected.RATING!.slice(0, 3)).toEqual(['Alpha Writer', 'Delta Planner', 'Charlie Tutor']);
      expect(expected.PRICE_LOW_TO_HIGH).toEqual([
        'Alpha Writer',
        'Delta Planner',
        'Charlie Tutor',
        'Bravo Closer',
        'Echo Free',
      ]);
      expect(expected.PRICE_HIGH_TO_LOW).toEqual([
        'Bravo Closer',
        'Charlie Tutor',
        'Delta Planner',
        'Alpha Writer',
        'Echo Free',
      ]);
      expect(expected.RESPONSE_TIME!.slice(0, 3)).toEqual(['Bravo Closer', 'Charlie Tutor', 'Alpha Writer']);
      expect(expected.POPULARITY![0]).toBe('Alpha Writer');

      for (const [sort, order] of Object.entries(expected)) {
        const seen: string[] = [];
        let after: string | null = null;
        let pages = 0;
        do {
          const result: Connection<Listing> = await page({ filter: { industry }, sort, first: 2, after });
          expect(result.totalCount).toBe(5);
          seen.push(...result.edges.map((e) => e.node.name));
          after = result.pageInfo.hasNextPage ? result.pageInfo.endCursor : null;
          pages++;
        } while (after && pages < 10);
        expect({ sort, seen }).toEqual({ sort, seen: order });
        expect(pages).toBe(3);
      }
    });

    it('refuses bad arguments with BAD_USER_INPUT that says what to fix', async () => {
      const bad = async (variables: Record<string, unknown>) =>
        (await m.as('anyone', ['customer'])(LISTINGS, variables)).errors?.[0];
      expect(await bad({ first: 0 })).toMatchObject({
        message: 'first must be between 1 and 100',
        extensions: { code: 'BAD_USER_INPUT' },
      });
      expect(await bad({ filter: { minPriceInr: 9000, maxPriceInr: 100 } })).toMatchObject({
        extensions: { code: 'BAD_USER_INPUT' },
      });
      const ratingPage = await page({ filter: { industry }, sort: 'RATING', first: 1 });
      expect((await bad({ sort: 'NEWEST', after: ratingPage.pageInfo.endCursor }))?.message).toMatch(
        /belongs to sort RATING/,
      );
      expect((await bad({ after: 'garbage' }))?.extensions.code).toBe('BAD_USER_INPUT');
      // Anonymous callers browse too.
      const anonymous = await m.as('x', null)(LISTINGS, { filter: { industry }, first: 1 });
      expect(anonymous.errors).toBeUndefined();
      expect(agents.echo.agentId).toBeDefined();
    });
  });

  describe('trials', () => {
    it('starts a 7-day trial without a card, runs the activation saga and sends the first task pinned to the agent', async () => {
      const agent = await m.registerAgent({ trialDays: 7 });
      const who = customer();
      const trial = await activeTrial(who, agent.agentId);
      expect(trial).toMatchObject({
        customerId: who,
        status: 'ACTIVE',
        trialDays: 7,
        handle: agent.handle,
        activation: [
          { name: 'RESERVE_CAPACITY', status: 'COMPLETED' },
          { name: 'ACTIVATE', status: 'COMPLETED' },
          { name: 'WELCOME', status: 'COMPLETED' },
        ],
        tasks: [{ capability: 'trial.first-deliverable', status: 'SUBMITTED', request: null }],
      });
      expect(Date.parse(iso(trial.endsAt)) - Date.parse(iso(trial.startedAt))).toBe(7 * 86_400_000);

      const taskId = trial.tasks[0]!.id;
      await pollFor(() => m.commandsFor(taskId).length > 0, { what: 'the first task command' });
      expect(m.commandsFor(taskId)).toEqual([
        {
          taskId,
          actor: who,
          customerId: who,
          spec: {
            capability: 'trial.first-deliverable',
            agentHandle: agent.handle,
            input: { businessContext: { ...BUSINESS } },
          },
        },
      ]);
      await pollFor(() => m.trialEvents(trial.id).length === 2);
      expect(m.trialEvents(trial.id).map((e) => e.status)).toEqual(['PROVISIONING', 'ACTIVE']);
      expect(m.trialEvents(trial.id)[1]).toMatchObject({
        trialId: trial.id,
        customerId: who,
        agentId: agent.agentId,
        status: 'ACTIVE',
      });
      await pollFor(() => m.activitiesOf(agent.agentId).some((a) => a.kind === 'TRIAL_STARTED'));
      const started = m.activitiesOf(agent.agentId).find((a) => a.kind === 'TRIAL_STARTED')!;
      expect(started).toMatchObject({ trialId: trial.id, customerId: who, deliverableId: null });
      expect(started.message).not.toContain(who);
      expect(started.message).not.toContain(BUSINESS.businessName);
      await pollFor(async () => (await listing(agent.agentId))?.popularity === 1);
    });

    it('refuses callers who are not customers and input that does not fit, saying what to fix', async () => {
      const agent = await m.registerAgent();
      const input = { agentId: agent.agentId, businessContext: BUSINESS };
      expect((await m.as('op', ['operator'])(START_TRIAL, { input })).errors?.[0]?.extensions.code).toBe(
        'FORBIDDEN',
      );
      expect((await m.as('anon', null)(START_TRIAL, { input })).errors?.[0]?.extensions.code).toBe(
        'UNAUTHENTICATED',
      );
      const noName = await startTrial(customer(), agent.agentId, { industry: 'healthcare' });
      expect(noName.errors?.[0]).toMatchObject({ extensions: { code: 'BAD_USER_INPUT' } });
      expect(noName.errors?.[0]?.message).toMatch(/businessName/);
      const notObject = await startTrial(customer(), agent.agentId, 'my clinic');
      expect(notObject.errors?.[0]?.message).toMatch(/businessContext must be an object/);
      const unknown = await startTrial(customer(), randomUUID());
      expect(unknown.errors?.[0]?.extensions.code).toBe('NOT_FOUND');
    });

    it('refuses a business context over its size limit with BAD_USER_INPUT naming the limit, and accepts one at the limit', async () => {
      const agent = await m.registerAgent();
      const limit = InputLimits.businessContextBytes;
      // Notes pad the context to the size wanted (its JSON, in UTF-8 bytes).
      const sized = (bytes: number) => {
        const base = { ...BUSINESS, notes: '' };
        return { ...base, notes: 'n'.repeat(bytes - Buffer.byteLength(JSON.stringify(base))) };
      };
      const over = await startTrial(customer(), agent.agentId, sized(limit + 1));
      expect(over.errors?.[0]?.extensions).toMatchObject({
        code: 'BAD_USER_INPUT',
        field: 'input.businessContext',
        maxBytes: limit,
        bytes: limit + 1,
      });
      expect(over.errors?.[0]?.message).toMatch(
        /input\.businessContext is \d+ bytes, over the limit of 16 KiB/,
      );

      const atLimit = await startTrial(customer(), agent.agentId, sized(limit));
      expect(atLimit.errors).toBeUndefined();
      expect(atLimit.data!.startTrial.businessContext).toMatchObject({ notes: sized(limit).notes });
    });

    it('allows one running trial per customer and agent, even when two starts race', async () => {
      const agent = await m.registerAgent();
      const who = customer();
      const results = await Promise.all([startTrial(who, agent.agentId), startTrial(who, agent.agentId)]);
      const ok = results.filter((r) => !r.errors);
      const refused = results.filter((r) => r.errors);
      expect(ok).toHaveLength(1);
      expect(refused[0]!.errors![0]).toMatchObject({
        extensions: { code: 'TRIAL_ALREADY_ACTIVE', trialId: ok[0]!.data!.startTrial.id },
      });
      const again = await startTrial(who, agent.agentId);
      expect(again.errors?.[0]?.extensions.code).toBe('TRIAL_ALREADY_ACTIVE');
    });

    it('allows at most 3 running trials per customer (TRIAL_LIMIT_REACHED with a 4th agent)', async () => {
      const four = await Promise.all([1, 2, 3, 4].map(() => m.registerAgent()));
      const who = customer();
      const trials = [];
      for (const agent of four.slice(0, 3)) trials.push(await activeTrial(who, agent.agentId));
      const fourth = await startTrial(who, four[3]!.agentId);
      expect(fourth.errors?.[0]).toMatchObject({ extensions: { code: 'TRIAL_LIMIT_REACHED', limit: 3 } });
      expect(fourth.errors?.[0]?.message).toMatch(/cancel or convert one/);
      expect((fourth.errors?.[0]?.extensions.trialIds as string[]).sort()).toEqual(
        trials.map((t) => t.id).sort(),
      );
      // The refused start left nothing behind; freeing a slot lets the 4th start.
      expect(await m.models.trials.countDocuments({ customerId: who })).toBe(3);
      await m.as(who)(`mutation($id: ID!) { cancelTrial(id: $id) { id } }`, { id: trials[0]!.id });
      await activeTrial(who, four[3]!.agentId);
    });

    it('refuses a new trial of the same agent during the cooldown, saying from when', async () => {
      const agent = await m.registerAgent();
      const who = customer();
      const trial = await activeTrial(who, agent.agentId);
      const cancelled = await m.as(who)<{ cancelTrial: Trial }>(
        `mutation($id: ID!) { cancelTrial(id: $id, reason: "changed my mind") { status endedAt cancelReason } }`,
        { id: trial.id },
      );
      expect(cancelled.data!.cancelTrial).toMatchObject({
        status: 'CANCELLED',
        cancelReason: 'changed my mind',
      });
      const again = await startTrial(who, agent.agentId);
      const from = new Date(
        Date.parse(iso(cancelled.data!.cancelTrial.endedAt)) + 30 * 86_400_000,
      ).toISOString();
      expect(again.errors?.[0]).toMatchObject({
        extensions: { code: 'TRIAL_COOLDOWN', availableFrom: from, previousTrialId: trial.id },
      });
      expect(again.errors?.[0]?.message).toContain(`from ${from}`);
      // Another customer is not held back.
      await activeTrial(customer(), agent.agentId);
    });

    it('compensates when the agent has no capacity left: CANCELLED with the reason, slots given back', async () => {
      const agent = await m.registerAgent({ name: 'Busy Agent' });
      const [c1, c2, c3] = [customer(), customer(), customer()];
      await activeTrial(c1, agent.agentId);
      await activeTrial(c2, agent.agentId);
      const third = await startTrial(c3, agent.agentId);
      expect(third.errors).toBeUndefined();
      expect(third.data!.startTrial).toMatchObject({
        status: 'CANCELLED',
        cancelReason:
          'Could not start the trial: Busy Agent has no trial capacity left (2 trials running); try again later',
        activation: [
          {
            name: 'RESERVE_CAPACITY',
            status: 'FAILED',
            error: 'Busy Agent has no trial capacity left (2 trials running); try again later',
          },
          { name: 'ACTIVATE', status: 'PENDING' },
          { name: 'WELCOME', status: 'PENDING' },
        ],
        tasks: [],
      });
      expect((await m.models.counters.findById(`agent:${agent.agentId}`).lean())!.count).toBe(2);
      expect((await m.models.counters.findById(`customer:${c3}`).lean())?.count ?? 0).toBe(0);
      // Nothing holds c3 back: no cooldown from a trial that never started, and the slot is free.
      const other = await m.registerAgent();
      await activeTrial(c3, other.agentId);
    });

    it('undoes completed steps in reverse order when a later step fails', async () => {
      const agent = await m.registerAgent();
      m.failStep(agent.agentId, 'WELCOME');
      const who = customer();
      const result = await startTrial(who, agent.agentId);
      m.failStep(agent.agentId, null);
      const trial = result.data!.startTrial;
      expect(trial).toMatchObject({
        status: 'CANCELLED',
        cancelReason: 'Could not start the trial: simulated outage in WELCOME',
        activation: [
          { name: 'RESERVE_CAPACITY', status: 'COMPENSATED' },
          { name: 'ACTIVATE', status: 'COMPENSATED' },
          { name: 'WELCOME', status: 'FAILED', error: 'simulated outage in WELCOME' },
        ],
        tasks: [],
      });
      expect(trial.endedAt).not.toBeNull();
      expect((await m.models.counters.findById(`agent:${agent.agentId}`).lean())!.count).toBe(0);
      expect((await m.models.counters.findById(`customer:${who}`).lean())!.count).toBe(0);
      // ACTIVE, then CANCELLED; no first task was sent.
      await pollFor(() => m.trialEvents(trial.id).length === 3);
      expect(m.trialEvents(trial.id).map((e) => e.status)).toEqual(['PROVISIONING', 'ACTIVE', 'CANCELLED']);
      expect(m.commandsFor(`trial.${trial.id}.first`)).toEqual([]);
      await activeTrial(who, agent.agentId);
    });
  });

  describe('deliverables and trial tasks', () => {
    let agent: { agentId: string; handle: string };
    let owner: string;
    let trial: Trial;
    beforeAll(async () => {
      agent = await m.registerAgent({
        name: 'Deliver Agent',
        capabilities: ['trial.first-deliverable', 'content.write-article', 'content.plan-calendar'],
      });
      owner = customer();
      trial = await activeTrial(owner, agent.agentId);
    });

    it('stores a COMPLETED task output as the customer deliverable, once, however often the event arrives', async () => {
      const taskId = trial.tasks[0]!.id;
      const completed = await m.taskUpdate(
        { taskId, agentId: agent.agentId, customerId: owner },
        { status: 'COMPLETED', output: deliverable('Content plan for Sunrise'), durationMs: 80 },
      );
      await m.outside.publishEnvelope('orchestration.task.updated', completed, taskId);
      const read = await pollFor(async () => {
        const t = (await trialAs(owner, trial.id)).data?.trial;
        return t?.deliverables.length && t.tasks[0]?.status === 'COMPLETED' ? t : undefined;
      });
      expect(read.deliverables).toEqual([
        expect.objectContaining({ title: 'Content plan for Sunrise', taskId, customerId: owner }),
      ]);
      expect(read.tasks[0]).toMatchObject({
        status: 'COMPLETED',
        deliverable: { title: 'Content plan for Sunrise' },
      });
      await pollFor(() => m.activitiesOf(agent.agentId).some((a) => a.kind === 'DELIVERABLE_READY'));
      // Applied once: one deliverable, one activity, one task counted.
      await pollFor(async () => (await listing(agent.agentId))?.completedTasks === 1);
      expect(await m.models.deliverables.countDocuments({ trialId: trial.id })).toBe(1);
      expect(m.activitiesOf(agent.agentId).filter((a) => a.kind === 'DELIVERABLE_READY')).toEqual([
        expect.objectContaining({
          trialId: trial.id,
          deliverableId: read.deliverables[0]!.id,
          customerId: owner,
          message: "Deliver Agent delivered a trial's first deliverable",
        }),
      ]);
    });

    it('takes requests for the agent capabilities while ACTIVE and records a failed task error', async () => {
      const REQUEST = `mutation($t: ID!, $i: TrialTaskInput!) {
        requestTrialTask(trialId: $t, input: $i) { id capability request status error } }`;
      const asked = await m.as(owner)<{ requestTrialTask: TrialTask }>(REQUEST, {
        t: trial.id,
        i: { request: 'Write about monsoon dengue care', details: { words: 800 } },
      });
      expect(asked.errors).toBeUndefined();
      const task = asked.data!.requestTrialTask;
      expect(task).toMatchObject({
        capability: 'content.write-article',
        request: 'Write about monsoon dengue care',
        status: 'SUBMITTED',
      });
      await pollFor(() => m.commandsFor(task.id).length > 0);
      expect(m.commandsFor(task.id)[0]).toMatchObject({
        customerId: owner,
        spec: {
          capability: 'content.write-article',
          agentHandle: agent.handle,
          input: {
            request: 'Write about monsoon dengue care',
            details: { words: 800 },
            businessContext: BUSINESS,
          },
        },
      });
      const unknown = await m.as(owner)(REQUEST, {
        t: trial.id,
        i: { capability: 'seo.audit', request: 'audit it' },
      });
      expect(unknown.errors?.[0]).toMatchObject({
        extensions: { code: 'BAD_USER_INPUT', field: 'input.capability' },
      });
      expect(unknown.errors?.[0]?.message).toMatch(
        /use one of: trial.first-deliverable, content.write-article/,
      );
      expect(
        (await m.as(owner)(REQUEST, { t: trial.id, i: { request: 'x' } })).errors?.[0]?.extensions.code,
      ).toBe('BAD_USER_INPUT');
      expect(
        (await m.as(customer())(REQUEST, { t: trial.id, i: { request: 'steal it' } })).errors?.[0]?.extensions
          .code,
      ).toBe('FORBIDDEN');

      await m.taskUpdate(
        { taskId: task.id, agentId: agent.agentId },
        { status: 'FAILED', error: 'the agent timed out' },
      );
      const failed = await pollFor(async () => {
        const t = (await trialAs(owner, trial.id)).data?.trial?.tasks.find((x) => x.id === task.id);
        return t?.status === 'FAILED' ? t : undefined;
      });
      expect(failed).toMatchObject({ error: 'the agent timed out', deliverable: null });
    });

    it("shows a customer only their own trials and deliverables; another customer's gets FORBIDDEN, staff see all", async () => {
      const deliverableId = (await trialAs(owner, trial.id)).data!.trial!.deliverables[0]!.id;
      const stranger = customer();
      expect((await trialAs(stranger, trial.id)).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
      const DELIVERABLE = `query($id: ID!) { deliverable(id: $id) { id title trial { id } } }`;
      expect((await m.as(stranger)(DELIVERABLE, { id: deliverableId })).errors?.[0]?.extensions.code).toBe(
        'FORBIDDEN',
      );
      const MINE = `query($t: ID, $c: ID) { myDeliverables(trialId: $t, customerId: $c) { totalCount edges { node { id } } } }`;
      expect((await m.as(stranger)(MINE, { t: trial.id })).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
      expect((await m.as(stranger)(MINE, { c: owner })).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
      expect(
        (await m.as(stranger)<{ myDeliverables: Connection<{ id: string }> }>(MINE, {})).data!.myDeliverables
          .totalCount,
      ).toBe(0);
      expect((await m.as(stranger)<{ myTrials: Trial[] }>(`{ myTrials { id } }`)).data!.myTrials).toEqual([]);
      // The entity is private too.
      const entity = await m.as(stranger)(
        `query($r: [_Any!]!) { _entities(representations: $r) { ... on Trial { id } } }`,
        {
          r: [{ __typename: 'Trial', id: trial.id }],
        },
      );
      expect(entity.errors?.[0]?.extensions.code).toBe('FORBIDDEN');

      expect((await trialAs('op-1', trial.id, ['operator'])).data?.trial?.id).toBe(trial.id);
      const staff = await m.as('op-1', ['operator'])<{ myDeliverables: Connection<{ id: string }> }>(MINE, {
        c: owner,
      });
      expect(staff.data!.myDeliverables.edges.map((e) => e.node.id)).toEqual([deliverableId]);
      const mine = await m.as(owner)<{ myTrials: { id: string }[] }>(`{ myTrials(status: ACTIVE) { id } }`);
      expect(mine.data!.myTrials).toEqual([{ id: trial.id }]);
    });

    it('cancels at once and idempotently, and every deliverable stays readable after', async () => {
      const CANCEL = `mutation($id: ID!) { cancelTrial(id: $id) { id status endedAt } }`;
      const first = await m.as(owner)<{ cancelTrial: Trial }>(CANCEL, { id: trial.id });
      expect(first.data!.cancelTrial.status).toBe('CANCELLED');
      const second = await m.as(owner)<{ cancelTrial: Trial }>(CANCEL, { id: trial.id });
      expect(second.data!.cancelTrial).toEqual(first.data!.cancelTrial);
      expect((await m.models.counters.findById(`customer:${owner}`).lean())!.count).toBe(0);
      expect((await m.models.counters.findById(`agent:${agent.agentId}`).lean())!.count).toBe(0);

      const after = (await trialAs(owner, trial.id)).data!.trial!;
      expect(after.deliverables.map((d) => d.title)).toEqual(['Content plan for Sunrise']);
      const mine = await m.as(owner)<{
        myDeliverables: Connection<{ id: string; title: string; content: string }>;
      }>(`{ myDeliverables(first: 5) { totalCount edges { node { id title content } } } }`);
      expect(mine.data!.myDeliverables).toMatchObject({
        totalCount: 1,
        edges: [
          {
            node: { title: 'Content plan for Sunrise', content: '# Content plan for Sunrise\n\nThe work.\n' },
          },
        ],
      });
      const request = await m.as(owner)(
        `mutation($t: ID!) { requestTrialTask(trialId: $t, input: { request: "one more" }) { id } }`,
        { t: trial.id },
      );
      expect(request.errors?.[0]).toMatchObject({ extensions: { code: 'CONFLICT', status: 'CANCELLED' } });
      await pollFor(() => m.activitiesOf(agent.agentId).some((a) => a.kind === 'TRIAL_ENDED'));
      // A late result of a task still lands: deliverables are kept whatever the trial's state.
      const late = trial.tasks[0]!.id.replace('.first', '.late');
      await m.models.trials.updateOne(
        { _id: trial.id },
        {
          $push: {
            tasks: {
              id: late,
              capability: 'content.write-article',
              request: 'late',
              status: 'WORKING',
              requestedAt: new Date(),
            },
          },
        },
      );
      await m.taskUpdate(
        { taskId: late, agentId: agent.agentId },
        { status: 'COMPLETED', output: deliverable('Late work') },
      );
      await pollFor(async () => (await trialAs(owner, trial.id)).data?.trial?.deliverables.length === 2);
    });
  });

  describe('subscriptions and ratings', () => {
    const CONVERT = `mutation($t: ID!, $p: ID!) { convertTrial(trialId: $t, plan: $p) {
      id customerId plan { id name monthlyPriceInr features } priceInr status startedAt renewsAt cancelledAt paymentId
      trial { id status } agent { id } listing { id } } }`;

    it('converts a trial into a paid subscription, charging once through the payment port', async () => {
      const agent = await m.registerAgent();
      const who = customer();
      const trial = await activeTrial(who, agent.agentId);

      const unknownPlan = await m.as(who)(CONVERT, { t: trial.id, p: 'platinum' });
      expect(unknownPlan.errors?.[0]).toMatchObject({
        extensions: { code: 'BAD_USER_INPUT', field: 'plan', plans: ['starter', 'growth'] },
      });
      expect(unknownPlan.errors?.[0]?.message).toMatch(/no plan "platinum"; choose one of: starter .*growth/);
      expect(
        (await m.as(customer())(CONVERT, { t: trial.id, p: 'growth' })).errors?.[0]?.extensions.code,
      ).toBe('FORBIDDEN');

      const converted = await m.as(who)<{
        convertTrial: Record<string, unknown> & {
          id: string;
          paymentId: string;
          startedAt: string;
          renewsAt: string;
        };
      }>(CONVERT, { t: trial.id, p: 'growth' });
      expect(converted.errors).toBeUndefined();
      const sub = converted.data!.convertTrial;
      expect(sub).toMatchObject({
        customerId: who,
        plan: { id: 'growth', name: 'Growth', monthlyPriceInr: 14000, features: ['8 articles a month'] },
        priceInr: 14000,
        status: 'ACTIVE',
        cancelledAt: null,
        trial: { id: trial.id, status: 'CONVERTED' },
        agent: { id: agent.agentId },
        listing: { id: agent.agentId },
      });
      const started = new Date(iso(sub.startedAt));
      const renews = new Date(iso(sub.renewsAt));
      expect(renews.getUTCMonth()).toBe((started.getUTCMonth() + 1) % 12);
      const payment = await m.models.payments.findById(sub.paymentId).lean();
      expect(payment).toMatchObject({
        customerId: who,
        amountInr: 14000,
        status: 'SUCCEEDED',
        idempotencyKey: `convert:${trial.id}`,
      });
      // No card data anywhere in the record.
      expect(Object.keys(payment!).sort()).toEqual(
        [
          '__v',
          '_id',
          'amountInr',
          'createdAt',
          'customerId',
          'description',
          'idempotencyKey',
          'reason',
          'status',
        ].sort(),
      );
      // Converting again finds the same subscription and charges nothing more.
      const again = await m.as(who)<{ convertTrial: { id: string } }>(CONVERT, { t: trial.id, p: 'growth' });
      expect(again.data!.convertTrial.id).toBe(sub.id);
      expect(await m.models.payments.countDocuments({ customerId: who })).toBe(1);
      await pollFor(() => m.activitiesOf(agent.agentId).some((a) => a.kind === 'SUBSCRIPTION_STARTED'));
      await pollFor(() => m.trialEvents(trial.id).some((e) => e.status === 'CONVERTED'));
      expect((await m.models.counters.findById(`customer:${who}`).lean())!.count).toBe(0);

      const mine = await m.as(who)<{ mySubscriptions: { id: string }[] }>(`{ mySubscriptions { id } }`);
      expect(mine.data!.mySubscriptions).toEqual([{ id: sub.id }]);
      expect(
        (await m.as(customer())(`query($id: ID!) { subscription(id: $id) { id } }`, { id: sub.id }))
          .errors?.[0]?.extensions.code,
      ).toBe('FORBIDDEN');
      expect(await listing(agent.agentId)).toMatchObject({
        retentionRate: 1,
        conversionRate: 1,
        popularity: 2,
      });

      const cancelled = await m.as(who)<{
        cancelSubscription: { status: string; cancelledAt: string | null };
      }>(`mutation($id: ID!) { cancelSubscription(id: $id) { status cancelledAt } }`, { id: sub.id });
      expect(cancelled.data!.cancelSubscription.status).toBe('CANCELLED');
      expect(cancelled.data!.cancelSubscription.cancelledAt).not.toBeNull();
      expect(await listing(agent.agentId)).toMatchObject({ retentionRate: 0 });
    });

    it('leaves the trial unchanged when the payment is declined (PAYMENT_DECLINED)', async () => {
      const agent = await m.registerAgent();
      const trial = await activeTrial('declined-customer', agent.agentId);
      const declined = await m.as('declined-customer')(CONVERT, { t: trial.id, p: 'starter' });
      expect(declined.errors?.[0]).toMatchObject({ extensions: { code: 'PAYMENT_DECLINED' } });
      expect(declined.errors?.[0]?.message).toMatch(/declined .*nothing was charged/);
      expect((await trialAs('declined-customer', trial.id)).data!.trial!.status).toBe('ACTIVE');
      expect(await m.models.subscriptions.countDocuments({ trialId: trial.id })).toBe(0);
      expect(
        await m.models.payments.countDocuments({ customerId: 'declined-customer', status: 'DECLINED' }),
      ).toBe(1);
    });

    it('lets only customers who trialled or subscribed rate, once each, and moves the average', async () => {
      const agent = await m.registerAgent({ name: 'Rated Agent' });
      const RATE = `mutation($a: ID!, $s: Int!, $c: String) { rateAgent(agentId: $a, stars: $s, comment: $c) { id stars comment agent { id } } }`;
      const outsider = customer();
      const refused = await m.as(outsider)(RATE, { a: agent.agentId, s: 5 });
      expect(refused.errors?.[0]).toMatchObject({ extensions: { code: 'FORBIDDEN' } });
      expect(refused.errors?.[0]?.message).toMatch(/trialled or subscribed .*start a trial first/);

      const [c1, c2] = [customer(), customer()];
      await activeTrial(c1, agent.agentId);
      await activeTrial(c2, agent.agentId);
      expect((await m.as(c1)(RATE, { a: agent.agentId, s: 6 })).errors?.[0]).toMatchObject({
        message: 'stars must be a whole number from 1 to 5 (got 6)',
        extensions: { code: 'BAD_USER_INPUT' },
      });
      expect(
        (await m.as(c1)(RATE, { a: agent.agentId, s: 5, c: 'Great first article' })).errors,
      ).toBeUndefined();
      expect((await m.as(c2)(RATE, { a: agent.agentId, s: 3 })).errors).toBeUndefined();
      expect((await listing(agent.agentId))!.rating).toEqual({ average: 4, count: 2 });
      // Rating again replaces the review.
      expect((await m.as(c2)(RATE, { a: agent.agentId, s: 4, c: 'Better now' })).errors).toBeUndefined();
      expect((await listing(agent.agentId))!.rating).toEqual({ average: 4.5, count: 2 });
      const reviews = await m.as('anyone', ['customer'])<{
        listing: { reviews: { stars: number; comment: string | null }[] };
      }>(`query($id: ID!) { listing(id: $id) { reviews(first: 5) { stars comment } } }`, {
        id: agent.agentId,
      });
      expect(reviews.data!.listing.reviews).toEqual([
        { stars: 4, comment: 'Better now' },
        { stars: 5, comment: 'Great first article' },
      ]);
      await pollFor(
        () => m.activitiesOf(agent.agentId).filter((a) => a.kind === 'REVIEW_POSTED').length === 3,
      );
      for (const a of m.activitiesOf(agent.agentId)) {
        expect(a.message).not.toContain(c1);
        expect(a.message).not.toContain(c2);
      }
    });
  });

  describe('activity', () => {
    it('keeps every activity and publishes each as marketplace.activity.created with the contract fields', async () => {
      const agent = await m.registerAgent({ category: 'SALES', name: 'Activity Agent' });
      const who = customer();
      const trial = await activeTrial(who, agent.agentId);
      const RECENT = `query($f: ActivityFilter, $n: Int) { recentActivity(filter: $f, first: $n) {
        id kind message agentId handle category createdAt agent { id } listing { name } } }`;
      const recent = await m.as('anyone', null)<{
        recentActivity: { id: string; kind: string; category: string; listing: { name: string } }[];
      }>(RECENT, { f: { agentId: agent.agentId } });
      expect(recent.errors).toBeUndefined();
      expect(recent.data!.recentActivity.map((a) => a.kind)).toEqual(['TRIAL_STARTED', 'AGENT_JOINED']);
      expect(recent.data!.recentActivity[0]).toMatchObject({
        category: 'SALES',
        listing: { name: 'Activity Agent' },
      });
      // Public: neither the customer nor their trial can be told from what anyone may read.
      expect(JSON.stringify(recent.data)).not.toContain(who);
      expect(JSON.stringify(recent.data)).not.toContain(trial.id);
      const sales = await m.as('anyone', null)<{ recentActivity: { category: string }[] }>(RECENT, {
        f: { category: 'SALES' },
        n: 100,
      });
      expect(sales.data!.recentActivity.every((a) => a.category === 'SALES')).toBe(true);
      expect((await m.as('anyone', null)(RECENT, { n: 101 })).errors?.[0]?.extensions.code).toBe(
        'BAD_USER_INPUT',
      );

      for (const activity of recent.data!.recentActivity) {
        const event = await pollFor(() => m.eventsOf('marketplace.activity.created', activity.id)[0]);
        expect(Object.keys(event.data).sort()).toEqual(
          [
            'activityId',
            'agentId',
            'at',
            'category',
            'customerId',
            'deliverableId',
            'handle',
            'kind',
            'message',
            'trialId',
          ].sort(),
        );
        expect(event.data).toMatchObject({
          activityId: activity.id,
          agentId: agent.agentId,
          handle: agent.handle,
        });
      }
    });
  });
});
