import { randomUUID } from 'node:crypto';
import type { Harness } from './harness';
import { startOrchestration } from './harness';

/*
 * Orchestration's part of AgentPerformance over tasks written straight into its database, the
 * expected figures worked out by hand. Window: June 2025.
 */
const SINCE = '2025-06-01T00:00:00.000Z';
const UNTIL = '2025-07-01T00:00:00.000Z';
const AGENT = `agent-${randomUUID()}`;
const OTHER = `agent-${randomUUID()}`;
const d = (day: number) => new Date(`2025-06-${String(day).padStart(2, '0')}T12:00:00.000Z`);

const attempt = (
  number: number,
  agentId: string,
  outcome: string | null,
  durationMs: number | null,
  endedAt: Date | null,
) => ({
  number,
  instanceId: `i-${agentId}`,
  runtimeId: 'rt',
  agentId,
  handle: null,
  startedAt: endedAt ?? d(1),
  endedAt,
  outcome,
  durationMs,
  error: null,
});

function task(id: string, attempts: ReturnType<typeof attempt>[], createdAt = d(1)) {
  const last = attempts.at(-1)!;
  return {
    _id: `${id}-${randomUUID()}`,
    capability: 'content.write-article',
    versionRange: null,
    agentHandle: null,
    input: {},
    priority: 'NORMAL',
    status: 'COMPLETED',
    strategy: 'WEIGHTED',
    attempts,
    agentId: last.agentId,
    output: null,
    error: null,
    timeoutMs: 30_000,
    deadline: null,
    retryPolicy: { maxAttempts: 3, initialDelayMs: 10, maxDelayMs: 100, multiplier: 2, jitter: 'NONE' },
    idempotencyKey: null,
    customerId: null,
    submittedBy: 'op',
    workflowId: null,
    workflowNodeId: null,
    saga: null,
    nextAttemptAt: createdAt,
    lastDelayMs: 0,
    avoidInstanceIds: [],
    rev: 1,
    appliedEventIds: [],
    outbox: [],
    createdAt,
    updatedAt: last.endedAt ?? createdAt,
    completedAt: last.endedAt,
  };
}

/*
 * The agent's attempts:
 * T1: attempt 1 FAILED (Jun 2), attempt 2 on OTHER SUCCEEDED     -> 1 failed, retried: 1 retry
 * T2: attempt 1 TIMED_OUT (Jun 3), attempt 2 SUCCEEDED 400 ms     -> 1 timed out (retried), 1 succeeded
 * T3: SUCCEEDED 100 ms (Jun 4); T4: SUCCEEDED 250 ms (Jun 5)
 * T5: REJECTED (Jun 6): not counted
 * T6: SUCCEEDED 50 ms on May 31 (created May 30): before the window
 * T7: attempt 1 still running (no outcome): not counted
 */
const TASKS = [
  task('T1', [attempt(1, AGENT, 'FAILED', 700, d(2)), attempt(2, OTHER, 'SUCCEEDED', 300, d(2))]),
  task('T2', [attempt(1, AGENT, 'TIMED_OUT', 30_000, d(3)), attempt(2, AGENT, 'SUCCEEDED', 400, d(3))]),
  task('T3', [attempt(1, AGENT, 'SUCCEEDED', 100, d(4))]),
  task('T4', [attempt(1, AGENT, 'SUCCEEDED', 250, d(5))]),
  task('T5', [attempt(1, AGENT, 'REJECTED', 5, d(6))]),
  task(
    'T6',
    [attempt(1, AGENT, 'SUCCEEDED', 50, new Date('2025-05-31T12:00:00.000Z'))],
    new Date('2025-05-30T12:00:00.000Z'),
  ),
  task('T7', [attempt(1, AGENT, null, null, null)]),
];

const FIELDS = `agentId attempts succeededAttempts failedAttempts timedOutAttempts successRate p50RunMs p95RunMs retries`;
const entities = `query($r: [_Any!]!) { _entities(representations: $r) { ... on AgentPerformance { ${FIELDS} } } }`;
const ref = (agentId: string) => ({ __typename: 'AgentPerformance', agentId, since: SINCE, until: UNTIL });

describe("an agent's task performance (orchestration's part of AgentPerformance)", () => {
  let o: Harness;
  beforeAll(async () => {
    o = await startOrchestration();
    await o.server.tasks.collection.insertMany(TASKS as never[]);
  });
  afterAll(() => o.stop());

  it('counts the attempts the agent finished in the window, as worked out by hand', async () => {
    const result = await o.exec(entities, { r: [ref(AGENT), ref(OTHER)] });
    expect(result.errors).toBeUndefined();
    // AGENT in June: T1#1 FAILED, T2#1 TIMED_OUT, T2#2 400, T3 100, T4 250 = 5 attempts (T5 rejected,
    // T6 in May, T7 running). Succeeded 3: 3/5 = 0.6. Run times [100, 250, 400]: p50 = rank
    // ceil(1.5) = 2 -> 250; p95 = rank ceil(2.85) = 3 -> 400. Retries: T1#1 and T2#1 were followed by
    // another attempt = 2. OTHER: T1#2 succeeded in 300 ms, first time... as the second attempt of its
    // task, but a success is never a retry.
    expect((result.data as { _entities: unknown[] })._entities).toEqual([
      {
        agentId: AGENT,
        attempts: 5,
        succeededAttempts: 3,
        failedAttempts: 1,
        timedOutAttempts: 1,
        successRate: 0.6,
        p50RunMs: 250,
        p95RunMs: 400,
        retries: 2,
      },
      {
        agentId: OTHER,
        attempts: 1,
        succeededAttempts: 1,
        failedAttempts: 0,
        timedOutAttempts: 0,
        successRate: 1,
        p50RunMs: 300,
        p95RunMs: 300,
        retries: 0,
      },
    ]);
  });

  it('is for operators and admins only', async () => {
    const result = await o.exec(entities, { r: [ref(AGENT)] }, ['customer']);
    expect(result.errors?.[0]?.extensions?.code).toBe('FORBIDDEN');
  });
});
