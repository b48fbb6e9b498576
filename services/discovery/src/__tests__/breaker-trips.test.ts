import { discoveryEvents } from '@waooaw/shared';
import { pollFor } from '@waooaw/shared/testing';
import { startDiscovery } from './harness';

/*
 * AgentPerformance.breakerTrips: discovery projects its own discovery.circuit.changed events into a
 * log of trips (transitions into OPEN) and counts an agent's in the window. The events are published
 * here with chosen times; the expected count is worked out by hand. The window is 30 days ending 10
 days ago (recent: the sweeper forgets trips older than BREAKER_TRIP_RETENTION_MS).
 */
const DAY = 86_400_000;
const START = Math.floor(Date.now() / DAY) * DAY - 40 * DAY;
/** `n` days (and `ms`) into the window, as an ISO date-time. */
const day = (n: number, ms = 0) => new Date(START + n * DAY + ms).toISOString();
const SINCE = day(0);
const UNTIL = day(30);

describe('breaker trips of an agent (discovery part of AgentPerformance)', () => {
  let h: Awaited<ReturnType<typeof startDiscovery>>;
  beforeAll(async () => {
    h = await startDiscovery();
  });
  afterAll(() => h.stop());

  it('counts the transitions into OPEN of the agent instances in the window', async () => {
    const agent = await h.knownAgent();
    const other = await h.knownAgent();
    const circuit = (
      who: { agentId: string; handle: string },
      from: 'CLOSED' | 'OPEN' | 'HALF_OPEN',
      to: 'CLOSED' | 'OPEN' | 'HALF_OPEN',
      at: string,
      linked = true,
    ) =>
      h.outside.publish(
        discoveryEvents.circuitChanged,
        {
          instanceId: `${who.handle}:0`,
          agentId: linked ? who.agentId : null,
          handle: who.handle,
          from,
          to,
          reason: 'test',
          at,
        },
        { subject: `${who.handle}:0` },
      );
    const published = [
      await circuit(agent, 'CLOSED', 'OPEN', day(2)), // trip 1
      await circuit(agent, 'OPEN', 'HALF_OPEN', day(2, 30_000)), // not a trip
      await circuit(agent, 'HALF_OPEN', 'OPEN', day(2, 31_000)), // trip 2
      await circuit(agent, 'CLOSED', 'OPEN', day(0, -1)), // just before the window
      await circuit(agent, 'CLOSED', 'OPEN', day(9), false), // trip 3, before the id was known
      await circuit(other, 'CLOSED', 'OPEN', day(4)), // another agent
      await circuit(agent, 'CLOSED', 'OPEN', day(30)), // at the end: outside [since, until)
    ];
    // Seven events, six of them into OPEN: all recorded (the consumer caught up) before asking.
    await pollFor(
      async () => (await h.trips.countDocuments({ _id: { $in: published.map((e) => e.id) } })) === 6,
      {
        what: 'discovery to record the breaker trips',
      },
    );
    const query = `query($r: [_Any!]!) { _entities(representations: $r) { ... on AgentPerformance { agentId breakerTrips } } }`;
    const ref = (agentId: string) => ({
      __typename: 'AgentPerformance',
      agentId,
      since: SINCE,
      until: UNTIL,
    });
    const result = await h.exec(query, { r: [ref(agent.agentId), ref(other.agentId)] });
    expect(result.errors).toBeUndefined();
    // agent: day 2 (CLOSED -> OPEN), day 2 (HALF_OPEN -> OPEN), day 9 (by its handle) = 3; other: day 4 = 1.
    expect((result.data as { _entities: unknown[] })._entities).toEqual([
      { agentId: agent.agentId, breakerTrips: 3 },
      { agentId: other.agentId, breakerTrips: 1 },
    ]);
    const customer = await h.exec(query, { r: [ref(agent.agentId)] }, ['customer']);
    expect(customer.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
