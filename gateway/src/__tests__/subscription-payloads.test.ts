import { readFileSync } from 'node:fs';
import type { ExecutionResult, FieldNode, OperationDefinitionNode } from 'graphql';
import { buildSchema, Kind, parse } from 'graphql';
import type { WebSocket } from 'ws';
import type { Caller, SubscriptionFeed } from '@waooaw/shared';
import { subscriptionFeeds } from '@waooaw/shared';
import { SUPERGRAPH_FILE, subgraphs } from '../subgraphs';
import {
  callerAudience,
  isPublicPayloadField,
  payloadAudience,
  publicFieldsOf,
} from '../subscriptions/audience';
import type { EntityAnswer, EntityLookup } from '../subscriptions/entities';
import { keptAnswers } from '../subscriptions/kept';
import { payloadBuilder } from '../subscriptions/payload';
import { serialiseOnce } from '../subscriptions/serialise';

const schema = buildSchema(readFileSync(SUPERGRAPH_FILE, 'utf8'), { assumeValidSDL: true });
const publicFields = publicFieldsOf(subgraphs().map((s) => parse(readFileSync(s.sdlFile, 'utf8'))));
const customer = (sub: string): Caller => ({ sub, roles: ['customer'] }) as unknown as Caller;

/**
 * The gateway's entity lookups, as the subscribers' audiences reach them: a task is answered with
 * the name of the caller it was resolved for (as if each saw its own data), an agent alike for all.
 */
function recordingEntities() {
  const calls: string[] = [];
  const entity = (caller: Caller | null) => (eventId: string, lookup: EntityLookup, isPublic: boolean) => {
    const who = isPublic ? 'public' : (caller?.sub ?? 'anonymous');
    calls.push(`${eventId} ${lookup.rootField} ${who}`);
    const value =
      lookup.rootField === 'task' ? { status: 'WORKING', seenBy: who } : { handle: `h-${String(lookup.id)}` };
    return Promise.resolve<EntityAnswer>({ value, errors: [] });
  };
  return { calls, entity };
}

/** One subscriber of `subscription`: what it gets for an event, built as the gateway builds it. */
function subscriber(
  subscription: string,
  caller: Caller | null,
  shared: ReturnType<typeof keptAnswers<ExecutionResult>>,
  entities: ReturnType<typeof recordingEntities>,
) {
  const document = parse(subscription);
  const operation = document.definitions.find(
    (d): d is OperationDefinitionNode => d.kind === Kind.OPERATION_DEFINITION,
  )!;
  const field = operation.selectionSet.selections[0] as FieldNode;
  const feed = subscriptionFeeds[field.name.value] as SubscriptionFeed;
  const audience = payloadAudience(schema, feed, field, document, caller, publicFields);
  const build = payloadBuilder({
    feed,
    field,
    document,
    payloadType: 'TaskUpdateEvent',
    audience,
    isPublic: (f) => isPublicPayloadField(schema, feed, f, document, publicFields),
    entity: entities.entity(caller),
    shared,
  });
  return { audience, build };
}

const taskEvent = (id: string) => ({
  id,
  data: { taskId: 't-1', status: 'WORKING', agentId: 'a-1', customerId: 'c-1' },
});

describe('sharing resolved subscription payloads', () => {
  it('hands the subscribers of one audience and selection the very same result, built once', async () => {
    const shared = keptAnswers<ExecutionResult>({ keepMs: 30_000, max: 100 });
    const entities = recordingEntities();
    const selection = 'subscription { taskUpdated { taskId status cursor agent { handle } } }';
    // The task's owner and an operator hear the same update; what they selected reads alike for both.
    const owner = subscriber(selection, customer('c-1'), shared, entities);
    const operator = subscriber(
      selection,
      { sub: 'op', roles: ['operator'] } as unknown as Caller,
      shared,
      entities,
    );
    expect([owner.audience, operator.audience]).toEqual(['public', 'public']);
    const [a, b] = await Promise.all([
      owner.build(taskEvent('ev-1'), () => 'cursor-1'),
      operator.build(taskEvent('ev-1'), () => 'cursor-1'),
    ]);
    expect(a).toBe(b);
    expect(a).toEqual({
      data: {
        taskUpdated: { taskId: 't-1', status: 'WORKING', cursor: 'cursor-1', agent: { handle: 'h-a-1' } },
      },
    });
    expect(entities.calls).toEqual(['ev-1 agent public']);
    // A subscriber at another position (it resumed with a replay) gets its own cursor, not the shared one.
    const resumed = await owner.build(taskEvent('ev-1'), () => 'cursor-after-replay');
    expect(resumed).not.toBe(a);
    expect((resumed.data!.taskUpdated as { cursor: string }).cursor).toBe('cursor-after-replay');
  });

  it("never shares a payload that names a caller's own data between two callers, though its public entity is resolved once", async () => {
    const shared = keptAnswers<ExecutionResult>({ keepMs: 30_000, max: 100 });
    const entities = recordingEntities();
    const selection = 'subscription { taskUpdated { status task { status } agent { handle } } }';
    const one = subscriber(selection, customer('c-1'), shared, entities);
    const two = subscriber(selection, customer('c-2'), shared, entities);
    expect([one.audience, two.audience]).toEqual([
      callerAudience(customer('c-1')),
      callerAudience(customer('c-2')),
    ]);
    const [a, b] = await Promise.all([
      one.build(taskEvent('ev-2'), () => 'c'),
      two.build(taskEvent('ev-2'), () => 'c'),
    ]);
    expect(a).not.toBe(b);
    expect((a.data!.taskUpdated as { task: unknown }).task).toEqual({ status: 'WORKING', seenBy: 'c-1' });
    expect((b.data!.taskUpdated as { task: unknown }).task).toEqual({ status: 'WORKING', seenBy: 'c-2' });
    // Each caller's task with its own context; the agent asked for as the public audience by both
    // (entities.ts then resolves it once).
    expect(entities.calls.sort()).toEqual([
      'ev-2 agent public',
      'ev-2 agent public',
      'ev-2 task c-1',
      'ev-2 task c-2',
    ]);
  });

  it('keeps results of different selections or response keys apart', async () => {
    const shared = keptAnswers<ExecutionResult>({ keepMs: 30_000, max: 100 });
    const entities = recordingEntities();
    const plain = subscriber('subscription { taskUpdated { status } }', null, shared, entities);
    const aliased = subscriber('subscription { t: taskUpdated { status } }', null, shared, entities);
    const more = subscriber('subscription { taskUpdated { status taskId } }', null, shared, entities);
    const results = await Promise.all(
      [plain, aliased, more].map((s) => s.build(taskEvent('ev-3'), () => 'c')),
    );
    expect(results.map((r) => r.data)).toEqual([
      { taskUpdated: { status: 'WORKING' } },
      { t: { status: 'WORKING' } },
      { taskUpdated: { status: 'WORKING', taskId: 't-1' } },
    ]);
  });

  it('does not keep a failed build: the next subscriber builds again', async () => {
    const shared = keptAnswers<number>({ keepMs: 30_000, max: 10 });
    let builds = 0;
    const failing = () => {
      builds++;
      return Promise.reject(new Error('identity unavailable'));
    };
    await expect(shared.get('k', failing)).rejects.toThrow('identity unavailable');
    await expect(shared.get('k', failing)).rejects.toThrow('identity unavailable');
    expect(builds).toBe(2);
    expect(await shared.get('k', () => Promise.resolve(7))).toBe(7);
    expect(await shared.get('k', () => Promise.resolve(8))).toBe(7);
  });
});

describe('serialising a shared payload once', () => {
  /** A socket that records what it is asked to send. */
  const recordingSocket = () => {
    const sent: string[] = [];
    const socket = {
      send: (data: string, cb?: (err?: Error) => void) => {
        sent.push(data);
        cb?.();
      },
    } as unknown as WebSocket;
    return { socket, sent };
  };

  it('sends each subscriber exactly the message graphql-ws would, turning the payload into JSON once', () => {
    const serialised = serialiseOnce();
    const sockets = [recordingSocket(), recordingSocket(), recordingSocket()];
    for (const s of sockets) serialised.wrap(s.socket);
    const result = {
      data: { agentHealthChanged: { status: 'DEGRADED', note: 'quotes " and \u0000 and "payload":"x"}' } },
    };
    // As graphql-ws does: stringify the message with the replacer, then hand it to the socket.
    const messages = sockets.map((_, i) => ({ id: `sub-${i}`, type: 'next', payload: result }));
    for (const [i, s] of sockets.entries())
      s.socket.send(JSON.stringify(messages[i], serialised.replacer) as never);
    expect(sockets.map((s) => s.sent[0])).toEqual(messages.map((m) => JSON.stringify(m)));
    expect(serialised.serialisations).toBe(1);
  });

  it('leaves other messages alone', () => {
    const serialised = serialiseOnce();
    const { socket, sent } = recordingSocket();
    serialised.wrap(socket);
    const error = { id: '1', type: 'error', payload: [{ message: 'bad' }] };
    const complete = { id: '1', type: 'complete' };
    socket.send(JSON.stringify(error, serialised.replacer) as never);
    socket.send(JSON.stringify(complete, serialised.replacer) as never);
    expect(sent).toEqual([JSON.stringify(error), JSON.stringify(complete)]);
    expect(serialised.serialisations).toBe(0);
  });
});
