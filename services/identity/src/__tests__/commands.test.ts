import { identityCommands } from '@waooaw/shared';
import { pollFor, uniqueName } from '@waooaw/shared/testing';
import { agentInput, startIdentity } from './harness';

describe('identity.commands: registration requested over Kafka', () => {
  let identity: Awaited<ReturnType<typeof startIdentity>>;
  beforeAll(async () => {
    identity = await startIdentity();
  });
  afterAll(() => identity.stop());

  const registered = (requestId: string) =>
    identity.eventsOf('identity.agent.registered').filter((e) => e.data.requestId === requestId);
  const rejected = (requestId: string) =>
    identity.eventsOf('identity.agent.registration-rejected').filter((e) => e.data.requestId === requestId);

  it('registers and activates an agent, answers with the request id, and is idempotent', async () => {
    const agent = agentInput();
    const requestId = uniqueName('build');
    const sent = await identity.bus.publish(
      identityCommands.registerAgent,
      { requestId, actor: 'factory', activate: true, agent },
      { subject: agent.handle },
    );

    const [event] = await pollFor(() => registered(requestId).length === 1 && registered(requestId), {
      what: 'the registered event',
    });
    expect(event!.data).toMatchObject({
      handle: agent.handle,
      outcome: 'CREATED',
      status: 'ACTIVE',
      version: '1.0.0',
    });
    const stored = await identity.agents.findOne({ handle: agent.handle }).lean();
    expect(stored!.history.map((h) => [h.from, h.to, h.actor])).toEqual([
      [null, 'DRAFT', 'factory'],
      ['DRAFT', 'PROVISIONED', 'factory'],
      ['PROVISIONED', 'ACTIVE', 'factory'],
    ]);
    await pollFor(() => identity.eventsOf('identity.agent.lifecycle-changed', stored!._id).length === 2);

    // Kafka delivers the very same command again: nothing changes and nothing is re-announced.
    await identity.bus.publishEnvelope(identityCommands.registerAgent.topic, sent, agent.handle);
    // A new build of the same version: confirmed as UNCHANGED for that build.
    const again = uniqueName('build');
    await identity.bus.publish(
      identityCommands.registerAgent,
      { requestId: again, actor: 'factory', activate: true, agent },
      { subject: agent.handle },
    );
    const [unchanged] = await pollFor(() => registered(again).length === 1 && registered(again));
    expect(unchanged!.data).toMatchObject({ outcome: 'UNCHANGED', agentId: stored!._id });
    expect(registered(requestId)).toHaveLength(1);
    expect(await identity.agents.countDocuments({ handle: agent.handle })).toBe(1);
    expect((await identity.agents.findById(stored!._id).lean())!.history).toHaveLength(3);
  });

  it('registers a higher version as a new version of the same agent, and rejects a lower one', async () => {
    const agent = agentInput();
    const v1 = uniqueName('build');
    await identity.bus.publish(
      identityCommands.registerAgent,
      { requestId: v1, actor: 'factory', activate: true, agent },
      { subject: agent.handle },
    );
    await pollFor(() => registered(v1).length === 1);

    const v2 = uniqueName('build');
    const upgraded = {
      ...agent,
      version: '1.1.0',
      capabilities: [
        { name: 'content.write-article', version: '1.3.0', description: 'Writes better articles' },
      ],
    };
    await identity.bus.publish(
      identityCommands.registerAgent,
      { requestId: v2, actor: 'factory', activate: true, agent: upgraded },
      { subject: agent.handle },
    );
    const [event] = await pollFor(() => registered(v2).length === 1 && registered(v2));
    expect(event!.data).toMatchObject({
      outcome: 'NEW_VERSION',
      version: '1.1.0',
      status: 'ACTIVE',
      capabilities: [{ name: 'content.write-article', version: '1.3.0' }],
    });
    const stored = await identity.agents.findOne({ handle: agent.handle }).lean();
    expect(stored!.versions.map((v) => v.version)).toEqual(['1.0.0', '1.1.0']);

    const old = uniqueName('build');
    await identity.bus.publish(
      identityCommands.registerAgent,
      { requestId: old, actor: 'factory', activate: true, agent },
      { subject: agent.handle },
    );
    const [refusal] = await pollFor(() => rejected(old).length === 1 && rejected(old));
    expect(refusal!.data).toMatchObject({ code: 'CONFLICT', handle: agent.handle, version: '1.0.0' });
    expect(refusal!.data.reason).toContain('already at version 1.1.0');
    expect((await identity.agents.findById(stored!._id).lean())!.version).toBe('1.1.0');
  });

  it('rejects an invalid registration with the reason instead of dead-lettering it', async () => {
    const requestId = uniqueName('build');
    const agent = agentInput({ version: 'one' });
    await identity.bus.publish(
      identityCommands.registerAgent,
      { requestId, actor: 'factory', activate: false, agent },
      { subject: String(agent.handle) },
    );
    const [refusal] = await pollFor(() => rejected(requestId).length === 1 && rejected(requestId));
    expect(refusal!.data).toMatchObject({ code: 'BAD_USER_INPUT', handle: agent.handle });
    expect(refusal!.data.reason).toContain('version: not a semver version');
    expect(await identity.agents.countDocuments({ handle: agent.handle })).toBe(0);
  });
});
