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
    const low: string[] = [];
    for (let i = 1; i <= 8; i++) low.push(await submit('LOW', i));
    const critical: string[] = [];
    for (let i = 1; i <= 3; i++) critical.push(await submit('CRITICAL', 10 + i));

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

interface WorkflowView {
  status: string;
  nodes: {
    id: string;
    status: string;
    task: {
      id: string;
      status: string;
      error: string | null;
      attempts: { outcome: string | null; error: string | null }[];
    } | null;
  }[];
}

/**
 * Orchestration as its own process, killed with SIGKILL while a workflow runs and started again on
 * the same database and consumer groups: the workflow completes, no task is lost, none completes twice.
 */
describe('orchestration killed and restarted mid-workflow, through the gateway', () => {
  let started: Awaited<ReturnType<typeof startPlatformWithRuntime>>;
  let operator: string;

  beforeAll(async () => {
    started = await startPlatformWithRuntime({
      orchestration: 'process',
      fleet: {
        handles: ['wow-math-mentor', 'wow-care-content', 'wow-notification'],
        concurrency: 2,
        workMs: { min: 400, max: 400 },
      },
    });
    operator = await tokenFor(['operator'], 'ops-restart');
  }, 150_000);
  afterAll(() => started.stop());

  const gql = <T>(query: string, variables: Record<string, unknown> = {}) =>
    postGraphQL<T>(started.gateway.httpUrl, query, variables, operator);
  const workflow = async (id: string) =>
    (
      await gql<{ workflow: WorkflowView | null }>(
        `query($id: ID!) { workflow(id: $id) { status nodes { id status task { id status error attempts { outcome error } } } } }`,
        { id },
      )
    ).body.data?.workflow ?? null;

  it('completes the workflow with every task run to completion exactly once', async () => {
    // The process is ready once its consumers have joined; a probe task per capability proves it
    // knows every agent the workflow needs (a node asked for before that would be REJECTED).
    for (const capability of ['tutoring.solve-problem', 'content.plan-calendar', 'notification.send'])
      await pollFor(
        async () => {
          const res = await gql<{ submitTask: { id: string } }>(
            `mutation($input: SubmitTaskInput!) { submitTask(input: $input) { id } }`,
            { input: { capability, input: { request: 'A probe: solve x + 1 = 2' } } },
          );
          const id = res.body.data?.submitTask.id;
          if (!id) return false;
          return pollFor(
            async () => {
              const t = (
                await gql<{ task: { status: string } }>(`query($id: ID!) { task(id: $id) { status } }`, {
                  id,
                })
              ).body.data?.task;
              if (t?.status === 'REJECTED') throw new Error('not known yet');
              return t?.status === 'COMPLETED';
            },
            { what: `the ${capability} probe`, timeoutMs: 10_000 },
          ).catch(() => false);
        },
        { what: `orchestration to run ${capability}`, timeoutMs: 60_000 },
      );

    const ask = (request: string) => ({ request });
    const nodes = [
      { id: 'solve', capability: 'tutoring.solve-problem', input: ask('Solve 2x + 4 = 10') },
      { id: 'plan', capability: 'content.plan-calendar', input: ask('A calendar for a maths academy') },
      {
        id: 'article',
        capability: 'content.write-article',
        input: ask('Why algebra matters'),
        dependsOn: ['plan'],
      },
      {
        id: 'check',
        capability: 'tutoring.solve-problem',
        input: ask('Solve 3x - 9 = 0'),
        dependsOn: ['solve'],
      },
      {
        id: 'outline',
        capability: 'content.plan-calendar',
        input: ask('A follow-up calendar'),
        dependsOn: ['article', 'check'],
      },
      {
        id: 'notify',
        capability: 'notification.send',
        input: ask('The pack is ready'),
        dependsOn: ['outline'],
      },
    ].map((n) => ({ ...n, timeoutMs: 60_000 }));
    const res = await gql<{ submitWorkflow: { id: string } }>(
      `mutation($input: SubmitWorkflowInput!) { submitWorkflow(input: $input) { id } }`,
      { input: { name: 'restart drill', nodes } },
    );
    expect(res.body.errors).toBeUndefined();
    const id = res.body.data!.submitWorkflow.id;

    // Kill it while the first layer is done and the rest is queued or running.
    await pollFor(
      async () => {
        const wf = await workflow(id);
        return (
          wf?.nodes.some((n) => n.status === 'COMPLETED') && wf.nodes.some((n) => n.status !== 'COMPLETED')
        );
      },
      { what: 'the workflow to be part-way', timeoutMs: 30_000, intervalMs: 50 },
    );
    await started.orchestrationProcess!.kill();
    // While it is down, running attempts finish and their results wait in Kafka.
    await new Promise((resolve) => setTimeout(resolve, 1000));
    await started.orchestrationProcess!.restart();

    const done = await pollFor(
      async () => {
        const wf = await workflow(id);
        return wf !== null && wf.status !== 'RUNNING' ? wf : undefined;
      },
      { what: 'the workflow to finish after the restart', timeoutMs: 90_000 },
    );
    // On a failure, show every node with its task's attempts.
    if (done.status !== 'COMPLETED')
      throw new Error(`workflow ${done.status}: ${JSON.stringify(done.nodes)}`);
    expect(done.nodes.map((n) => [n.id, n.status])).toEqual(nodes.map((n) => [n.id, 'COMPLETED']));
    for (const node of done.nodes) {
      expect(node.task!.status).toBe('COMPLETED');
      expect(node.task!.attempts.filter((a) => a.outcome === 'SUCCEEDED')).toHaveLength(1);
    }
  }, 240_000);
});
