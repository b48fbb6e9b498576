import { readFileSync } from 'node:fs';
import type { ExecutionResult, FieldNode, OperationDefinitionNode } from 'graphql';
import { buildSchema, Kind, parse } from 'graphql';
import type { Caller, SubscriptionFeed } from '@waooaw/shared';
import { subscriptionFeeds } from '@waooaw/shared';
import type { Context } from '../context';
import { SUPERGRAPH_FILE, subgraphs } from '../subgraphs';
import { isPublicPayloadField, payloadAudience, publicFieldsOf } from '../subscriptions/audience';
import type { EntityLookup } from '../subscriptions/entities';
import { createEntityResolver } from '../subscriptions/entities';

/** The supergraph's API schema, as the gateway's subscriptions see it (join directives are harmless here). */
const schema = buildSchema(readFileSync(SUPERGRAPH_FILE, 'utf8'), { assumeValidSDL: true });
const publicFields = publicFieldsOf(subgraphs().map((s) => parse(readFileSync(s.sdlFile, 'utf8'))));

const customer = (sub: string): Caller => ({ sub, roles: ['customer'] }) as unknown as Caller;

/** The subscription field of `subscription`, its feed and its document. */
function parsed(subscription: string) {
  const document = parse(subscription);
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  )!;
  const field = operation.selectionSet.selections[0] as FieldNode;
  const feed = subscriptionFeeds[field.name.value] as SubscriptionFeed;
  return { document, field, feed };
}

/** The audience of `subscription` (one field) for `caller`. */
function audience(subscription: string, caller: Caller | null): string {
  const { document, field, feed } = parsed(subscription);
  return payloadAudience(schema, feed, field, document, caller, publicFields);
}

describe('who shares a resolved subscription payload', () => {
  it('reads the public fields from the subgraphs: a type tag covers only the fields its subgraph defines', () => {
    expect(publicFields.has('Agent.handle')).toBe(true); // identity tags its Agent
    expect(publicFields.has('Agent.listing')).toBe(true); // marketplace tags its Agent
    expect(publicFields.has('Query.agent')).toBe(true);
    // orchestration's fields on Agent are staff-only (recentTasks) or untagged (stats).
    expect(publicFields.has('Agent.recentTasks')).toBe(false);
    expect(publicFields.has('Agent.stats')).toBe(false);
    expect(publicFields.has('Query.task')).toBe(false);
  });

  it('shares a selection of public fields among all callers, through fragments and nested entities', () => {
    const lifecycle = `subscription { agentLifecycleChanged { to cursor agent { handle ...A listing { name rating { average } } } } }
      fragment A on Agent { name capabilities { name version } }`;
    expect(audience(lifecycle, customer('c-1'))).toBe('public');
    expect(audience(lifecycle, customer('c-2'))).toBe('public');
    expect(audience(lifecycle, null)).toBe('public');
    // No entity selected at all: the payload is the event's own data, the same for all who hear it.
    expect(audience('subscription { activityFeed { id category } }', customer('c-1'))).toBe('public');
  });

  it("never shares a selection that reaches a caller's own data: each caller is an audience of its own", () => {
    const withTasks = 'subscription { agentLifecycleChanged { agent { handle recentTasks { id } } } }';
    expect(audience(withTasks, customer('c-1'))).toBe('caller:c-1:customer');
    expect(audience(withTasks, customer('c-2'))).toBe('caller:c-2:customer');
    expect(audience(withTasks, null)).toBe('anonymous');
    // A task is its owner's: not public even where every selected field would be harmless.
    expect(audience('subscription { taskUpdated { task { id status } } }', customer('c-1'))).toBe(
      'caller:c-1:customer',
    );
    // A fragment that reaches beyond the public fields makes the whole selection the caller's.
    const viaFragment = `subscription { agentLifecycleChanged { agent { ...F } } } fragment F on Agent { handle stats { completed } }`;
    expect(audience(viaFragment, customer('c-1'))).toBe('caller:c-1:customer');
  });

  it("shares a task update's public part: its agent is everybody's, its task the caller's own", () => {
    // Only the event's own fields and its agent: the same for all who hear the update (the customer
    // who owns the task and the operators), whoever they are.
    const agentOnly = 'subscription { taskUpdated { taskId status agent { handle name } } }';
    expect(audience(agentOnly, customer('c-1'))).toBe('public');
    // With the task too, the whole payload is the caller's; its agent field on its own is still public.
    const both = 'subscription { taskUpdated { status agent { handle } task { status } } }';
    expect(audience(both, customer('c-1'))).toBe('caller:c-1:customer');
    const { document, field, feed } = parsed(both);
    const fields = field.selectionSet!.selections as FieldNode[];
    expect(
      Object.fromEntries(
        fields.map((f) => [f.name.value, isPublicPayloadField(schema, feed, f, document, publicFields)]),
      ),
    ).toEqual({ status: true, agent: true, task: false });
  });
});

describe('resolving entities for many subscribers', () => {
  /** A gateway query runner that answers `agent(id)` with the id's handle and records each query. */
  function recordingGateway() {
    const queries: { query: string; variables: Record<string, unknown>; caller: string | null }[] = [];
    const runQuery = async (query: string, variables: Record<string, unknown>, context: Context) => {
      queries.push({ query, variables, caller: context.caller?.sub ?? null });
      const data: Record<string, unknown> = {};
      const errors: ExecutionResult['errors'] = [];
      for (const [name, id] of Object.entries(variables)) {
        const alias = `e${name.slice(1)}`;
        if (id === 'missing') {
          data[alias] = null;
          (errors as unknown[]).push({ message: 'no such agent', path: [alias, 'handle'] });
        } else data[alias] = { handle: `h-${String(id)}` };
      }
      return { data, ...(errors.length ? { errors } : {}) } as ExecutionResult;
    };
    return { queries, runQuery };
  }
  const context = (sub: string | null) =>
    ({ caller: sub ? customer(sub) : null, requestId: 'r', traceparent: '', ip: '127.0.0.1' }) as Context;
  const lookup = (id: string, selection = '{ handle }'): EntityLookup => ({
    rootField: 'agent',
    selection,
    fragments: [],
    id,
  });

  it('resolves an event once per audience however many subscribers pull it, and batches events into one query', async () => {
    const gateway = recordingGateway();
    const entities = createEntityResolver({ runQuery: gateway.runQuery, windowMs: 5 });
    // 50 subscribers of the public audience pull two events of two agents; one of another caller's audience.
    const answers = await Promise.all([
      ...Array.from({ length: 50 }, () => entities.resolve('event-1', 'public', context(null), lookup('a1'))),
      ...Array.from({ length: 50 }, () => entities.resolve('event-2', 'public', context(null), lookup('a2'))),
      entities.resolve('event-1', 'caller:c-1:customer', context('c-1'), lookup('a1')),
    ]);
    expect(answers[0]).toEqual({ value: { handle: 'h-a1' }, errors: [] });
    expect(answers[99]).toEqual({ value: { handle: 'h-a2' }, errors: [] });
    // One query for the public audience with both agents, one for the caller's own.
    expect(gateway.queries.map((q) => [q.caller, Object.values(q.variables)])).toEqual([
      [null, ['a1', 'a2']],
      ['c-1', ['a1']],
    ]);
    expect(gateway.queries[0]!.query).toContain('e0: agent(id: $i0) { handle }');
    // A subscriber that pulls the event later gets the kept answer.
    await entities.resolve('event-1', 'public', context(null), lookup('a1'));
    expect(entities.queries).toBe(2);
  });

  it('gives each entity its own errors, and splits a batch at maxBatch', async () => {
    const gateway = recordingGateway();
    const entities = createEntityResolver({ runQuery: gateway.runQuery, windowMs: 5, maxBatch: 2 });
    const [ok, missing, third] = await Promise.all([
      entities.resolve('e1', 'public', context(null), lookup('a1')),
      entities.resolve('e2', 'public', context(null), lookup('missing')),
      entities.resolve('e3', 'public', context(null), lookup('a3')),
    ]);
    expect(ok.errors).toEqual([]);
    expect(missing).toEqual({ value: null, errors: [{ message: 'no such agent', path: ['handle'] }] });
    expect(third.value).toEqual({ handle: 'h-a3' });
    expect(gateway.queries.map((q) => Object.keys(q.variables).length)).toEqual([2, 1]);
  });

  it("splits a batch whose query would pass the parser's token limit", async () => {
    const gateway = recordingGateway();
    // One entity's query is 23 tokens and each more adds 17: 40 tokens hold two of them, not four.
    const entities = createEntityResolver({ runQuery: gateway.runQuery, windowMs: 5, maxTokens: 40 });
    const answers = await Promise.all(
      ['a1', 'a2', 'a3', 'a4'].map((id, i) => entities.resolve(`e${i}`, 'public', context(null), lookup(id))),
    );
    expect(answers.map((a) => a.value)).toEqual(
      ['a1', 'a2', 'a3', 'a4'].map((id) => ({ handle: `h-${id}` })),
    );
    expect(gateway.queries.map((q) => Object.values(q.variables))).toEqual([
      ['a1', 'a2'],
      ['a3', 'a4'],
    ]);
  });

  it('looks a batch up through the list field when the feed names one: one field, answers and errors by index', async () => {
    const queries: { query: string; variables: Record<string, unknown> }[] = [];
    const runQuery = (query: string, variables: Record<string, unknown>) => {
      queries.push({ query, variables });
      const ids = variables.ids as string[];
      return Promise.resolve({
        data: { list: ids.map((id) => (id === 'missing' ? null : { handle: `h-${id}` })) },
        errors: [
          { message: 'no such agent', path: ['list', ids.indexOf('missing'), 'handle'] },
          { message: 'listing service slow' }, // no path: everyone's
        ],
        // Formatted errors, as the gateway's runQuery hands them over (see the other runner above).
      } as unknown as ExecutionResult);
    };
    const entities = createEntityResolver({ runQuery, windowMs: 5, maxBatch: 2 });
    const listed = (id: string): EntityLookup => ({ ...lookup(id), listField: 'agentsByIds' });
    const [a1, missing, a3] = await Promise.all(
      ['a1', 'missing', 'a3'].map((id, i) => entities.resolve(`e${i}`, 'public', context(null), listed(id))),
    );
    // One query for the three, though aliases would be split at maxBatch 2: the list takes 100.
    expect(queries).toHaveLength(1);
    expect(queries[0]!.query).toContain('list: agentsByIds(ids: $ids) { handle }');
    expect(queries[0]!.variables).toEqual({ ids: ['a1', 'missing', 'a3'] });
    expect(a1).toEqual({ value: { handle: 'h-a1' }, errors: [{ message: 'listing service slow' }] });
    expect(a3!.value).toEqual({ handle: 'h-a3' });
    expect(missing).toEqual({
      value: null,
      errors: [{ message: 'no such agent', path: ['handle'] }, { message: 'listing service slow' }],
    });
  });

  it('keeps different selections apart: one query each', async () => {
    const gateway = recordingGateway();
    const entities = createEntityResolver({ runQuery: gateway.runQuery, windowMs: 5 });
    await Promise.all([
      entities.resolve('e1', 'public', context(null), lookup('a1', '{ handle }')),
      entities.resolve('e1', 'public', context(null), lookup('a1', '{ handle name }')),
    ]);
    expect(gateway.queries).toHaveLength(2);
  });
});
