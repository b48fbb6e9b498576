import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { pollFor } from '@waooaw/shared/testing';
import { catalogue } from '@waooaw/agents/runtime';
import { postGraphQL, tokenFor } from '../gateway';
import { startPlatformWithRuntime } from '../platform';

interface ListingNode {
  id: string;
  handle: string;
  name: string;
  category: string;
  specialization: string;
  industries: string[];
  tags: string[];
  capabilities: string[];
  startingPriceInr: number | null;
  rating: { average: number | null; count: number };
  popularity: number;
  averageResponseMs: number | null;
  availableNow: boolean;
  listedAt: string;
  persona: { tagline: string };
  plans: { id: string; monthlyPriceInr: number }[];
  sampleDeliverables: { title: string }[];
}

const LISTING_FIELDS = `id handle name category specialization industries tags capabilities startingPriceInr
  rating { average count } popularity averageResponseMs availableNow listedAt persona { tagline }
  plans { id monthlyPriceInr } sampleDeliverables { title }`;

const customers = catalogue.map((c) => c.manifest).filter((m) => m.kind === 'CUSTOMER');
const CARE = 'wow-care-content';

describe('the marketplace through the gateway', () => {
  let started: Awaited<ReturnType<typeof startPlatformWithRuntime>>;
  let asha: string;
  let ravi: string;
  let careId: string;

  beforeAll(async () => {
    started = await startPlatformWithRuntime({ orchestration: true, marketplace: true });
    [asha, ravi] = await Promise.all([
      tokenFor(['customer'], 'cust-asha'),
      tokenFor(['customer'], 'cust-ravi'),
    ]);
    // Every customer agent listed and available (the runtime's instances are healthy), and
    // orchestration able to run the trial agent's work.
    await pollFor(
      async () => {
        const page = await browse({ filter: { availableNow: true }, first: 50 });
        return handles(page).length === customers.length;
      },
      { what: `all ${customers.length} customer agents to be listed and available`, timeoutMs: 100_000 },
    );
    careId = (await browse({ first: 50 })).edges.find((e) => e.node.handle === CARE)!.node.id;
    const { orchestration, runtime } = started;
    await pollFor(
      () =>
        orchestration!.replica
          .offering('trial.first-deliverable', null, CARE)
          .some((v) => v.runtimeId === runtime.runtimeId),
      { what: 'orchestration to know the trial agent', timeoutMs: 60_000, intervalMs: 100 },
    );
  }, 200_000);
  afterAll(() => started.stop());

  const gql = <T>(query: string, variables: Record<string, unknown> = {}, auth?: string) =>
    postGraphQL<T>(started.gateway.httpUrl, query, variables, auth);
  type Page = {
    totalCount: number;
    edges: { cursor: string; node: ListingNode }[];
    pageInfo: { hasNextPage: boolean; endCursor: string | null };
  };
  async function browse(args: {
    filter?: Record<string, unknown>;
    sort?: string;
    first?: number;
    after?: string;
  }) {
    const res = await gql<{ listings: Page }>(
      `query($filter: ListingFilter, $sort: ListingSort, $first: Int, $after: String) {
        listings(filter: $filter, sort: $sort, first: $first, after: $after) {
          totalCount pageInfo { hasNextPage endCursor } edges { cursor node { ${LISTING_FIELDS} } } } }`,
      args,
    );
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.listings;
  }
  // Other test files register agents of their own through the shared Kafka (identity replays their
  // commands), so they may be listed too: assertions look at the catalogue's customer agents.
  const ours = new Set(customers.map((m) => m.handle));
  const handles = (page: Page) =>
    page.edges
      .map((e) => e.node.handle)
      .filter((h) => ours.has(h))
      .sort();
  const expected = (keep: (m: (typeof customers)[number]) => boolean) =>
    customers
      .filter(keep)
      .map((m) => m.handle)
      .sort();
  const cheapest = (m: (typeof customers)[number]) =>
    Math.min(...(m.pricing?.plans ?? []).map((p) => p.monthlyPrice));

  it('browses with each filter', async () => {
    const all = await browse({ first: 50 });
    expect(handles(all)).toEqual(expected(() => true));
    const care = all.edges.find((e) => e.node.handle === CARE)!.node;
    expect(care.persona.tagline).toBeTruthy();
    expect(care.plans.map((p) => p.monthlyPriceInr)).toEqual([10000, 14000, 18000]);
    expect(care.startingPriceInr).toBe(10000);
    // Its sample deliverable is real work of the agent for a demo business, made once it could run.
    const sample = await pollFor(
      async () =>
        (
          await gql<{ listing: { sampleDeliverables: { title: string; content: string }[] } }>(
            `query($id: ID!) { listing(id: $id) { sampleDeliverables { title content } } }`,
            { id: care.id },
          )
        ).body.data?.listing.sampleDeliverables[0],
      { what: 'the sample deliverable', timeoutMs: 30_000 },
    );
    expect(sample.content.length).toBeGreaterThan(200);

    expect(handles(await browse({ filter: { category: 'MARKETING' }, first: 50 }))).toEqual(
      expected((m) => m.category === 'MARKETING'),
    );
    expect(handles(await browse({ filter: { industry: 'healthcare' }, first: 50 }))).toEqual(
      expected((m) => m.industries.includes('healthcare')),
    );
    expect(handles(await browse({ filter: { capability: 'content.write-article' }, first: 50 }))).toEqual(
      expected((m) => m.capabilities.some((c) => c.name === 'content.write-article')),
    );
    expect(handles(await browse({ filter: { minPriceInr: 9000, maxPriceInr: 12000 }, first: 50 }))).toEqual(
      expected((m) => cheapest(m) >= 9000 && cheapest(m) <= 12000),
    );
    expect(handles(await browse({ filter: { availableNow: true }, first: 50 }))).toEqual(
      expected(() => true),
    );
    expect(handles(await browse({ filter: { availableNow: false }, first: 50 }))).toEqual([]);
    // Free text: every word must appear in the name, specialization, tags, industries or capabilities.
    const words = (m: (typeof customers)[number]) =>
      [m.name, m.handle, m.specialization, ...m.tags, ...m.industries, ...m.capabilities.map((c) => c.name)]
        .join(' ')
        .toLowerCase();
    const text = await browse({ filter: { query: 'Healthcare CONTENT' }, first: 50 });
    expect(handles(text)).toEqual(
      expected((m) => words(m).includes('healthcare') && words(m).includes('content')),
    );
    expect(handles(text)).toContain(CARE);
    const combined = await browse({
      filter: { category: 'EDUCATION', query: 'math', maxPriceInr: 50000 },
      first: 50,
    });
    expect(handles(combined)).toEqual(
      expected((m) => m.category === 'EDUCATION' && words(m).includes('math') && cheapest(m) <= 50000),
    );
    const bad = await gql(`{ listings(first: 101) { totalCount } }`);
    expect(bad.body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
  });

  it('sorts by price, popularity, response time and newest, and pages through a sort without gaps', async () => {
    const sorted = async (sort: string) => (await browse({ sort, first: 50 })).edges.map((e) => e.node);
    const low = await sorted('PRICE_LOW_TO_HIGH');
    const prices = low.map((n) => n.startingPriceInr ?? Infinity);
    expect(prices).toEqual([...prices].sort((a, b) => a - b));
    const high = (await sorted('PRICE_HIGH_TO_LOW')).map((n) => n.startingPriceInr ?? -Infinity);
    expect(high).toEqual([...high].sort((a, b) => b - a));
    const popular = (await sorted('POPULARITY')).map((n) => n.popularity);
    expect(popular).toEqual([...popular].sort((a, b) => b - a));
    const response = (await sorted('RESPONSE_TIME')).map((n) => n.averageResponseMs ?? Infinity);
    expect(response).toEqual([...response].sort((a, b) => a - b));
    const newest = (await sorted('NEWEST')).map((n) => Date.parse(n.listedAt));
    expect(newest).toEqual([...newest].sort((a, b) => b - a));

    // Pages of 4 give the same order as one page.
    const paged: string[] = [];
    let after: string | undefined;
    for (;;) {
      const page = await browse({ sort: 'PRICE_LOW_TO_HIGH', first: 4, ...(after ? { after } : {}) });
      paged.push(...page.edges.map((e) => e.node.id));
      if (!page.pageInfo.hasNextPage) break;
      after = page.pageInfo.endCursor!;
    }
    // (Only the catalogue's agents: other test files' agents may be listed while the pages are read.)
    const catalogueIds = new Set(low.filter((n) => ours.has(n.handle)).map((n) => n.id));
    expect(paged.filter((id) => catalogueIds.has(id))).toEqual([...catalogueIds]);
  });

  it('runs a trial that produces deliverables the customer keeps after cancelling, and that nobody else sees', async () => {
    // Asha watches the agent's activity live.
    const client = createClient({
      url: started.gateway.wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${asha}` },
      retryAttempts: 0,
    });
    type Activity = {
      kind: string;
      message: string;
      listing: { name: string } | null;
      agent: { handle: string } | null;
    };
    const feed: Activity[] = [];
    const heard = await started.gateway.whenListening();
    const listening = (async () => {
      for await (const result of client.iterate<{ activityFeed: Activity }>({
        query: `subscription($f: ActivityFeedFilter) { activityFeed(filter: $f) {
          kind message listing { name } agent { handle } } }`,
        variables: { f: { agentId: careId, category: 'MARKETING' } },
      })) {
        if (result.data) feed.push(result.data.activityFeed);
      }
    })();
    await heard(); // the trial's activity is published once the subscription hears the feed

    const TRIAL = `id status endsAt trialDays cancelReason deliverables { id title content }`;
    const startTrial = (auth: string) =>
      gql<{ startTrial: { id: string; status: string } }>(
        `mutation($input: StartTrialInput!) { startTrial(input: $input) { ${TRIAL} } }`,
        {
          input: {
            agentId: careId,
            businessContext: {
              businessName: 'Lotus Eye Clinic',
              industry: 'healthcare',
              city: 'Nagpur',
              goals: ['more cataract consultations'],
            },
          },
        },
        auth,
      );
    const started1 = await startTrial(asha);
    expect(started1.body.errors).toBeUndefined();
    const trialId = started1.body.data!.startTrial.id;

    type Trial = {
      id: string;
      status: string;
      endsAt: string;
      trialDays: number;
      deliverables: { id: string; title: string; content: string }[];
    };
    const trial = (auth: string) =>
      gql<{ trial: Trial | null }>(`query($id: ID!) { trial(id: $id) { ${TRIAL} } }`, { id: trialId }, auth);
    const withDeliverable = await pollFor(
      async () => {
        const t = (await trial(asha)).body.data?.trial;
        return t?.status === 'ACTIVE' && t.deliverables.length > 0 ? t : undefined;
      },
      { what: 'the trial’s first deliverable', timeoutMs: 30_000 },
    );
    expect(withDeliverable.trialDays).toBe(7);
    expect(Date.parse(withDeliverable.endsAt) - Date.now()).toBeGreaterThan(6.9 * 86_400_000);
    const first = withDeliverable.deliverables[0]!;
    expect(first.content).toMatch(/Lotus Eye Clinic/);

    // The same customer cannot run two trials of one agent at once.
    const again = await startTrial(asha);
    expect(again.body.errors?.[0]?.extensions?.code).toBe('TRIAL_ALREADY_ACTIVE');

    // More work on request, each result another deliverable.
    const asked = await gql<{ requestTrialTask: { id: string } }>(
      `mutation($id: ID!, $input: TrialTaskInput!) { requestTrialTask(trialId: $id, input: $input) { id status } }`,
      {
        id: trialId,
        input: { capability: 'content.write-article', request: 'An article on cataract surgery recovery' },
      },
      asha,
    );
    expect(asked.body.errors).toBeUndefined();
    await pollFor(async () => ((await trial(asha)).body.data?.trial?.deliverables.length ?? 0) >= 2, {
      what: 'the requested deliverable',
      timeoutMs: 30_000,
    });

    // Ravi sees none of it.
    const DELIVERABLE = `query($id: ID!) { deliverable(id: $id) { id title content } }`;
    expect((await trial(ravi)).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await gql(DELIVERABLE, { id: first.id }, ravi)).body.errors?.[0]?.extensions?.code).toBe(
      'FORBIDDEN',
    );
    const ravisOwn = await gql<{ myDeliverables: { totalCount: number } }>(
      `{ myDeliverables { totalCount } }`,
      {},
      ravi,
    );
    expect(ravisOwn.body.data!.myDeliverables.totalCount).toBe(0);

    // Asha cancels at once and still reads every deliverable.
    const cancelled = await gql<{ cancelTrial: { status: string } }>(
      `mutation($id: ID!) { cancelTrial(id: $id, reason: "seen enough") { status } }`,
      { id: trialId },
      asha,
    );
    expect(cancelled.body.data!.cancelTrial.status).toBe('CANCELLED');
    const kept = await gql<{ deliverable: { content: string } }>(DELIVERABLE, { id: first.id }, asha);
    expect(kept.body.data!.deliverable.content).toBe(first.content);
    const mine = await gql<{ myDeliverables: { totalCount: number } }>(
      `query($t: ID) { myDeliverables(trialId: $t) { totalCount } }`,
      { t: trialId },
      asha,
    );
    expect(mine.body.data!.myDeliverables.totalCount).toBe(2);

    // The feed showed the trial start and the deliverable, with the listing and agent resolved.
    await pollFor(() => feed.some((a) => a.kind === 'DELIVERABLE_READY'), {
      what: 'DELIVERABLE_READY on the feed',
    });
    const started2 = feed.find((a) => a.kind === 'TRIAL_STARTED')!;
    expect(started2).toMatchObject({ listing: { name: 'WowCare Content' }, agent: { handle: CARE } });
    expect(started2.message).not.toMatch(/asha/i);
    expect(feed.find((a) => a.kind === 'DELIVERABLE_READY')!.agent).toEqual({ handle: CARE });
    await client.dispose();
    await listening;
  }, 120_000);

  it('lets only a customer who trialled rate the agent, and the rating moves the listing', async () => {
    const rate = (auth: string, stars: number) =>
      gql<{ rateAgent: { stars: number } }>(
        `mutation($a: ID!, $s: Int!) { rateAgent(agentId: $a, stars: $s, comment: "Clear, careful articles") { stars } }`,
        { a: careId, s: stars },
        auth,
      );
    expect((await rate(ravi, 5)).body.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
    expect((await rate(asha, 9)).body.errors?.[0]?.extensions?.code).toBe('BAD_USER_INPUT');
    expect((await rate(asha, 3)).body.errors).toBeUndefined();
    expect((await rate(asha, 4)).body.data!.rateAgent.stars).toBe(4); // edits the one review
    const rating = async () =>
      (
        await gql<{ listing: { rating: { average: number; count: number } } }>(
          `query($id: ID!) { listing(id: $id) { rating { average count } } }`,
          { id: careId },
        )
      ).body.data!.listing.rating;
    await pollFor(async () => (await rating()).average === 4, { what: 'the rating to move' });
    expect(await rating()).toEqual({ average: 4, count: 1 });
    expect(handles(await browse({ filter: { minRating: 4 }, first: 50 }))).toEqual([CARE]);
    expect((await browse({ sort: 'RATING', first: 1 })).edges[0]!.node.handle).toBe(CARE);
  });
});
