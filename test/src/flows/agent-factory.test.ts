import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { factoryCommands } from '@waooaw/shared';
import { pollFor, uniqueName } from '@waooaw/shared/testing';
import { startIdentityAndFactory } from '../platform';

const definitionsDir = path.resolve(__dirname, '../../../agents/definitions');
const sample = readFileSync(path.join(definitionsDir, 'wow-care-content.yaml'), 'utf8');
const renamed = (handle: string, yaml = sample) =>
  yaml.replace('handle: wow-care-content', `handle: ${handle}`);

interface BuildView {
  id: string;
  status: string;
  error: string | null;
  errorCode: string | null;
  agent: { id: string } | null;
}

describe('factory -> identity over Kafka', () => {
  let platform: Awaited<ReturnType<typeof startIdentityAndFactory>>;
  beforeAll(async () => {
    platform = await startIdentityAndFactory();
  });
  afterAll(() => platform.stop());

  const submit = async (yaml: string, activate = true) => {
    const result = await platform.factory.exec<{ submitAgentDefinition: BuildView }>(
      `mutation($y: String!, $a: Boolean) { submitAgentDefinition(yaml: $y, activate: $a) { id status } }`,
      { y: yaml, a: activate },
    );
    expect(result.errors).toBeUndefined();
    return result.data!.submitAgentDefinition;
  };
  const buildOf = async (id: string) =>
    (
      await platform.factory.exec<{ agentBuild: BuildView }>(
        `query($id: ID!) { agentBuild(id: $id) { id status error errorCode agent { id } } }`,
        { id },
      )
    ).data!.agentBuild;
  const settled = (id: string) =>
    pollFor(
      async () => {
        const build = await buildOf(id);
        return build.status !== 'PENDING' && build;
      },
      { what: `build ${id} to finish` },
    );

  it('builds an agent that identity registers and activates; the build follows the real outcome', async () => {
    const handle = uniqueName('wow-flow').toLowerCase();
    const build = await submit(renamed(handle));
    expect(build.status).toBe('PENDING');
    const done = await settled(build.id);
    expect(done.status).toBe('SUCCEEDED');

    const agent = await platform.identity.exec<{
      agent: { handle: string; status: string; version: string; metadata: { template: string } };
    }>(`query($id: ID!) { agent(id: $id) { handle status version metadata } }`, { id: done.agent!.id });
    expect(agent.data?.agent).toMatchObject({
      handle,
      status: 'ACTIVE',
      version: '1.0.0',
      metadata: { template: 'marketing' },
    });

    // The factory's Agent.definition resolves for identity's agent id.
    const entity = await platform.factory.exec<{
      _entities: { definition: { handle: string; sha256: string } }[];
    }>(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Agent { definition { handle sha256 } } } }`,
      { r: [{ __typename: 'Agent', id: done.agent!.id }] },
    );
    expect(entity.data?._entities[0]?.definition.handle).toBe(handle);

    // A new version registers a new version of the same agent.
    const v2 = await settled((await submit(renamed(handle).replace('version: 1.0.0', 'version: 1.1.0'))).id);
    expect(v2).toMatchObject({ status: 'SUCCEEDED', agent: { id: done.agent!.id } });
    const versions = await platform.identity.exec<{
      agent: { version: string; versions: { version: string }[] };
    }>(`query($id: ID!) { agent(id: $id) { version versions { version } } }`, { id: done.agent!.id });
    expect(versions.data?.agent).toEqual({
      version: '1.1.0',
      versions: [{ version: '1.0.0' }, { version: '1.1.0' }],
    });
  });

  it('fails the build with identity’s reason when identity refuses the registration', async () => {
    const handle = uniqueName('wow-flow').toLowerCase();
    // Registered directly at 2.0.0 in identity, so the factory's 1.0.0 is a downgrade.
    await settled((await submit(renamed(handle).replace('version: 1.0.0', 'version: 2.0.0'))).id);
    const failed = await settled((await submit(renamed(handle))).id);
    expect(failed).toMatchObject({ status: 'FAILED', errorCode: 'CONFLICT', agent: null });
    expect(failed.error).toContain('already at version 2.0.0');
  });

  it('lets an agent create an agent: a factory.commands submission becomes a registered agent', async () => {
    const handle = uniqueName('wow-child').toLowerCase();
    const requestId = uniqueName('task');
    await platform.factory.bus.publish(
      factoryCommands.submitDefinition,
      { requestId, actor: 'wow-agent-factory', yaml: renamed(handle), activate: true },
      { subject: requestId },
    );
    const build = await pollFor(
      async () => (await platform.factory.builds.findOne({ requestId }).lean()) ?? undefined,
      { what: 'the commanded build' },
    );
    expect(build.requestedBy).toBe('wow-agent-factory');
    const done = await settled(build._id);
    expect(done.status).toBe('SUCCEEDED');
    const agent = await platform.identity.exec<{
      agentByHandle: { status: string; history: { actor: string }[] };
    }>(`query($h: String!) { agentByHandle(handle: $h) { status history { actor } } }`, { h: handle });
    expect(agent.data?.agentByHandle.status).toBe('ACTIVE');
    expect(agent.data?.agentByHandle.history[0]?.actor).toBe('factory:wow-agent-factory');
  });
});

describe('the catalogue loaded through the factory at start', () => {
  it('leaves identity holding all 33 agents ACTIVE', async () => {
    const handles = readdirSync(definitionsDir)
      .filter((f) => f.endsWith('.yaml'))
      .map((f) => f.replace(/\.yaml$/, ''));
    expect(handles).toHaveLength(33);
    const platform = await startIdentityAndFactory({ loadCatalogue: true });
    try {
      const active = await pollFor(
        async () => {
          const found = await platform.identity.agents
            .find({ handle: { $in: handles }, status: 'ACTIVE' }, { handle: 1 })
            .lean();
          return found.length === 33 && found;
        },
        { timeoutMs: 60_000, what: 'all 33 catalogue agents ACTIVE' },
      );
      expect(active).toHaveLength(33);
      // Fresh consumer groups replay the topics' history, so other tests' agents may be here too:
      // count the catalogue's own.
      const countOf = (filter: Record<string, unknown>) =>
        platform.identity.agents.countDocuments({ handle: { $in: handles }, ...filter });
      expect(await countOf({ kind: 'PLATFORM', status: 'ACTIVE' })).toBe(14);
      expect(
        await countOf({ kind: 'CUSTOMER', status: 'ACTIVE', 'capabilities.name': 'trial.first-deliverable' }),
      ).toBe(19);
      const wowSupport = await platform.identity.exec<{
        agentByHandle: { status: string; capabilities: { name: string }[] };
      }>(`{ agentByHandle(handle: "wow-support") { status capabilities { name } } }`);
      expect(wowSupport.data?.agentByHandle.status).toBe('ACTIVE');
      expect(wowSupport.data?.agentByHandle.capabilities.map((c) => c.name)).toContain(
        'support.answer-ticket',
      );
      // The factory applies identity's answers a moment after identity has applied the commands.
      await pollFor(
        async () =>
          (await platform.factory.builds.countDocuments({
            handle: { $in: handles },
            status: 'SUCCEEDED',
          })) === 33,
        { what: 'all 33 catalogue builds SUCCEEDED' },
      );
    } finally {
      await platform.stop();
    }
  });
});
