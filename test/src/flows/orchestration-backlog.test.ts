import { pollFor } from '@waooaw/shared/testing';
import { postGraphQL, tokenFor } from '../gateway';
import { startPlatformWithRuntime } from '../platform';

interface FinishedTask {
  id: string;
  priority: string;
  status: string;
  completedAt: string | null;
}

/**
 * One math-tutor instance that runs one task at a time, each taking 250 ms: a backlog forms as soon
 * as a few tasks are submitted, so the order they finish in is the order orchestration chose.
 */
describe('priorities under a backlog, through the gateway', () => {
  let started: Awaited<ReturnType<typeof startPlatformWithRuntime>>;
  let operator: string;

  beforeAll(async () => {
    started = await startPlatformWithRuntime({
      orchestration: true,
      fleet: { handles: ['wow-math-mentor'], concurrency: 1, workMs: { min: 250, max: 250 } },
    });
    operator = await tokenFor(['operator'], 'ops-backlog');
    const { orchestration, runtime } = started;
    await pollFor(
      () =>
        orchestration!.replica
          .offering('tutoring.solve-problem', null)
          .some((v) => v.runtimeId === runtime.runtimeId),
      { what: 'orchestration to know the math tutor instance', timeoutMs: 60_000, intervalMs: 100 },
    );
  }, 150_000);
  afterAll(() => started.stop());

  const gql = <T>(query: string, variables: Record<string, unknown> = {}) =>
    postGraphQL<T>(started.gateway.httpUrl, query, variables, operator);
  const submit = async (priority: string, n: number) => {
    const res = await gql<{ submitTask: { id: string } }>(
      `mutation($input: SubmitTaskInput!) { submitTask(input: $input) { id } }`,
      {
        input: {
          capability: 'tutoring.solve-problem',
          priority,
          input: { request: `Solve ${n}x = ${n * 3}` },
        },
      },
    );
    expect(res.body.errors).toBeUndefined();
    return res.body.data!.submitTask.id;
  };

  it('finishes CRITICAL tasks before LOW ones submitted earlier', async () => {
    // Each group is submitted at once, the CRITICAL ones after every LOW one is stored: one after the
    // other, the submissions took longer than the tasks on a loaded machine, and most LOW tasks had
    // run before the CRITICAL ones existed.
    const low = await Promise.all([1, 2, 3, 4, 5, 6, 7, 8].map((i) => submit('LOW', i)));
    const critical = await Promise.all([1, 2, 3].map((i) => submit('CRITICAL', 10 + i)));

    const all = await pollFor(
      async () => {
        const tasks = await Promise.all(
          [...low, ...critical].map(
            async (id) =>
              (
                await gql<{ task: FinishedTask }>(
                  `query($id: ID!) { task(id: $id) { id priority status completedAt } }`,
                  { id },
                )
              ).body.data!.task,
          ),
        );
        return tasks.every((t) => t.status === 'COMPLETED') && tasks;
      },
      { what: 'all 11 tasks to complete', timeoutMs: 30_000 },
    );
    const order = [...all]
      .sort((a, b) => Date.parse(a.completedAt!) - Date.parse(b.completedAt!))
      .map((t) => t.priority);
    const lastCritical = order.lastIndexOf('CRITICAL');
    // The LOW tasks already running or handed out when the CRITICAL ones arrived finish first (one
    // at a time, 250 ms each, so at most the first two or three); every other LOW waits for them.
    const lowBefore = order.slice(0, lastCritical).filter((p) => p === 'LOW').length;
    expect(lowBefore).toBeLessThanOrEqual(3);
    expect(order.slice(lastCritical + 1)).toEqual(Array(8 - lowBefore).fill('LOW'));
  }, 60_000);
});
