import { readFileSync } from 'node:fs';
import path from 'node:path';
import { InputLimits } from '@waooaw/shared';
import { pollFor, uniqueName } from '@waooaw/shared/testing';
import { billionLaughs } from './fixtures/yaml-bombs';
import { startFactory } from './harness';

const fixture = readFileSync(path.join(__dirname, 'fixtures/valid.yaml'), 'utf8');
const withHandle = (handle: string, yaml = fixture) =>
  yaml.replace('handle: test-content-agent', `handle: ${handle}`);

const SUBMIT = `mutation($yaml: String!, $activate: Boolean) { submitAgentDefinition(yaml: $yaml, activate: $activate) {
  id handle version status requestedBy error
  definition { id sha256 template kind }
  artefacts { path sha256 bytes } } }`;

interface Build {
  id: string;
  handle: string;
  version: string;
  status: string;
  error: string | null;
  artefacts: { path: string; sha256: string; bytes: number }[];
  definition: { id: string; sha256: string };
}

describe('factory subgraph', () => {
  let factory: Awaited<ReturnType<typeof startFactory>>;
  beforeAll(async () => {
    factory = await startFactory();
  });
  afterAll(() => factory.stop());

  const submit = async (yaml: string, roles: ('operator' | 'customer')[] = ['operator']) =>
    factory.exec<{ submitAgentDefinition: Build }>(SUBMIT, { yaml, activate: true }, roles);

  it('validates, stores and generates a definition, then commands identity through the outbox', async () => {
    const handle = uniqueName('wow-fact').toLowerCase();
    const result = await submit(withHandle(handle));
    expect(result.errors).toBeUndefined();
    const build = result.data!.submitAgentDefinition;
    expect(build).toMatchObject({
      handle,
      version: '1.0.0',
      status: 'PENDING',
      requestedBy: 'op-test',
      definition: { id: `${handle}@1.0.0`, template: 'marketing' },
    });
    expect(build.artefacts.map((a) => a.path)).toEqual([
      `agents/generated/${handle}/manifest.ts`,
      `agents/generated/${handle}/handlers.ts`,
      `agents/generated/${handle}/${handle}.test.ts`,
    ]);
    for (const a of build.artefacts) expect(a.sha256).toMatch(/^[0-9a-f]{64}$/);

    const [command] = await pollFor(() => {
      const found = factory.messages('identity.agent.register').filter((e) => e.data.requestId === build.id);
      return found.length === 1 && found;
    });
    expect(command!.data).toMatchObject({
      actor: 'factory:op-test',
      activate: true,
      agent: { handle, version: '1.0.0', kind: 'CUSTOMER' },
    });
    const agent = command!.data.agent as {
      capabilities: Record<string, unknown>[];
      metadata: Record<string, unknown>;
    };
    expect(agent.capabilities[0]).not.toHaveProperty('handler');
    expect(agent.metadata).toMatchObject({
      template: 'marketing',
      pricing: { currency: 'INR', trialDays: 7 },
    });
    await pollFor(() =>
      factory
        .messages('factory.build.updated')
        .some((e) => e.data.buildId === build.id && e.data.status === 'PENDING'),
    );
  });

  it('is idempotent for the same YAML, refuses different YAML for the same version, and builds a new version', async () => {
    const handle = uniqueName('wow-fact').toLowerCase();
    const yaml = withHandle(handle);
    const first = (await submit(yaml)).data!.submitAgentDefinition;
    const again = (await submit(yaml)).data!.submitAgentDefinition;
    expect(again.id).toBe(first.id);
    expect(await factory.builds.countDocuments({ handle })).toBe(1);

    const changed = await submit(yaml.replace('Writes an article', 'Writes a long article'));
    expect(changed.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', handle, version: '1.0.0' });
    expect(changed.errors?.[0]?.message).toContain('raise the version');

    const v2 = (await submit(yaml.replace('version: 1.0.0', 'version: 1.1.0'))).data!.submitAgentDefinition;
    expect(v2).toMatchObject({ version: '1.1.0', status: 'PENDING' });
    expect(v2.id).not.toBe(first.id);
    expect(await factory.definitions.countDocuments({ handle })).toBe(2);
  });

  it('returns INVALID_AGENT_DEFINITION with line, column and path, storing nothing', async () => {
    const handle = uniqueName('wow-bad').toLowerCase();
    const bad = withHandle(handle).replace('version: 2.0.0', 'version: 2.0');
    const result = await submit(bad);
    expect(result.errors?.[0]?.extensions.code).toBe('INVALID_AGENT_DEFINITION');
    expect(result.errors?.[0]?.extensions.problems).toEqual([
      {
        path: 'capabilities[2].version',
        line: 40,
        column: 14,
        message: 'not a semver version (expected e.g. 1.2.0)',
      },
    ]);
    expect(result.errors?.[0]?.message).toBe(
      'Invalid agent definition: capabilities[2].version: not a semver version (expected e.g. 1.2.0) (line 40, column 14)',
    );

    const malformed = await submit('handle: [unclosed\nname: x');
    expect(malformed.errors?.[0]?.extensions.code).toBe('INVALID_AGENT_DEFINITION');
    expect(malformed.errors?.[0]?.message).toMatch(/YAML syntax/);

    expect(await factory.definitions.countDocuments({ handle })).toBe(0);
    expect(await factory.builds.countDocuments({ handle })).toBe(0);

    const check = await factory.exec<{
      validateAgentDefinition: { valid: boolean; problems: { path: string }[] };
    }>(
      `query($yaml: String!) { validateAgentDefinition(yaml: $yaml) { valid problems { path line column message } } }`,
      { yaml: bad },
    );
    expect(check.data?.validateAgentDefinition).toMatchObject({
      valid: false,
      problems: [{ path: 'capabilities[2].version' }],
    });
    expect((await submit(withHandle(handle), ['customer'])).errors?.[0]?.extensions.code).toBe('FORBIDDEN');
  });

  it('answers a YAML alias bomb with INVALID_AGENT_DEFINITION naming the alias limit, in submit and validate', async () => {
    const bomb = billionLaughs(9);
    const submitted = await submit(bomb);
    expect(submitted.errors?.[0]?.extensions.code).toBe('INVALID_AGENT_DEFINITION');
    expect(submitted.errors?.[0]?.message).toContain('(the alias limit)');
    const check = await factory.exec<{
      validateAgentDefinition: { valid: boolean; problems: { path: string; message: string }[] };
    }>(`query($yaml: String!) { validateAgentDefinition(yaml: $yaml) { valid problems { path message } } }`, {
      yaml: bomb,
    });
    expect(check.errors).toBeUndefined();
    expect(check.data?.validateAgentDefinition).toEqual({
      valid: false,
      problems: [{ path: '', message: expect.stringContaining('(the alias limit)') as string }],
    });
  });

  it('refuses YAML over its size limit with BAD_USER_INPUT naming the limit, and accepts YAML at the limit', async () => {
    const limit = InputLimits.agentYamlBytes;
    // A comment pads a valid definition to the size wanted.
    const padded = (handle: string, bytes: number) => {
      const yaml = `${withHandle(handle)}\n# `;
      return `${yaml}${'x'.repeat(bytes - Buffer.byteLength(yaml) - 1)}\n`;
    };

    const over = await submit(padded(uniqueName('wow-big').toLowerCase(), limit + 1));
    expect(over.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'yaml',
      maxBytes: limit,
      bytes: limit + 1,
    });
    expect(over.errors?.[0]?.message).toMatch(/yaml is \d+ bytes, over the limit of 32 KiB/);

    const handle = uniqueName('wow-full').toLowerCase();
    const atLimit = await submit(padded(handle, limit));
    expect(atLimit.errors).toBeUndefined();
    expect(atLimit.data!.submitAgentDefinition).toMatchObject({ handle, status: 'PENDING' });
  });

  it('completes a build from identity’s answer, exposes it on Agent.definition, and lists builds', async () => {
    const handle = uniqueName('wow-done').toLowerCase();
    const build = (await submit(withHandle(handle))).data!.submitAgentDefinition;
    // identity answers (the cross-service flow is tested in test/, against the real identity service).
    expect(await factory.factory.complete(build.id, { agentId: `agent-${handle}` })).toBe(true);
    expect(await factory.factory.complete(build.id, { agentId: `agent-${handle}` })).toBe(false);

    const read = await factory.exec<{ agentBuild: { status: string; agent: { id: string } } }>(
      `query($id: ID!) { agentBuild(id: $id) { status agent { id } } }`,
      { id: build.id },
    );
    expect(read.errors).toBeUndefined();
    expect(read.data?.agentBuild).toEqual({ status: 'SUCCEEDED', agent: { id: `agent-${handle}` } });
    await pollFor(() =>
      factory
        .messages('factory.build.updated')
        .some((e) => e.data.buildId === build.id && e.data.status === 'SUCCEEDED'),
    );

    const entities = await factory.exec<{
      _entities: { definition: { handle: string; version: string; yaml: string } | null }[];
    }>(
      `query($r: [_Any!]!) { _entities(representations: $r) { ... on Agent { definition { handle version yaml } } } }`,
      {
        r: [
          { __typename: 'Agent', id: `agent-${handle}` },
          { __typename: 'Agent', id: 'unknown-agent' },
        ],
      },
    );
    expect(entities.data?._entities[0]?.definition).toMatchObject({ handle, version: '1.0.0' });
    expect(entities.data?._entities[1]?.definition).toBeNull();

    const latest = await factory.exec<{ agentDefinition: { version: string } }>(
      `query($h: String!) { agentDefinition(handle: $h) { version } }`,
      { h: handle },
    );
    expect(latest.data?.agentDefinition.version).toBe('1.0.0');

    const page = await factory.exec<{
      agentBuilds: {
        totalCount: number;
        edges: { node: { id: string } }[];
        pageInfo: { hasNextPage: boolean; endCursor: string };
      };
    }>(`{ agentBuilds(first: 1) { totalCount edges { node { id } } pageInfo { hasNextPage endCursor } } }`);
    expect(page.data?.agentBuilds.totalCount).toBeGreaterThan(1);
    expect(page.data?.agentBuilds.pageInfo.hasNextPage).toBe(true);
    const next = await factory.exec<{ agentBuilds: { edges: { node: { id: string } }[] } }>(
      `query($a: String) { agentBuilds(first: 1, after: $a) { edges { node { id } } } }`,
      {
        a: page.data?.agentBuilds.pageInfo.endCursor,
      },
    );
    expect(next.data?.agentBuilds.edges[0]?.node.id).not.toBe(page.data?.agentBuilds.edges[0]?.node.id);
  });

  it('lists its templates', async () => {
    const result = await factory.exec<{ agentTemplates: { id: string }[] }>(
      `{ agentTemplates { id name description kind category } }`,
    );
    expect(result.data?.agentTemplates.map((t) => t.id)).toEqual([
      'platform-coe',
      'marketing',
      'education',
      'sales',
    ]);
  });
});
