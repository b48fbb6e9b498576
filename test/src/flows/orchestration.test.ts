import { createClient } from 'graphql-ws';
import WebSocket from 'ws';
import { pollFor } from '@waooaw/shared/testing';
import { catalogue } from '@waooaw/agents/runtime';
import { postGraphQL, tokenFor } from '../gateway';
import { startPlatformWithRuntime } from '../platform';

interface Task {
  id: string;
  status: string;
  error: string | null;
  output: { format: string; title: string; summary: string; content: string } | null;
  agent: { handle: string } | null;
}

const TASK_FIELDS = 'id status error output { format title summary content } agent { handle }';

describe('tasks through the gateway, run by the agents runtime', () => {
  let started: Awaited<ReturnType<typeof startPlatformWithRuntime>>;
  let gateway: Awaited<ReturnType<typeof startPlatformWithRuntime>>['gateway'];
  let operator: string;

  beforeAll(async () => {
    started = await startPlatformWithRuntime({ orchestration: true });
    gateway = started.gateway;
    const { orchestration, runtime } = started;
    operator = await tokenFor(['operator'], 'ops-tasks');
    // Orchestration dispatches once discovery has told it about the runtime's instances.
    await pollFor(
      () =>
        catalogue.every((c) =>
          orchestration!.replica
            .offering(c.manifest.capabilities[0]!.name, null)
            // linked to its agent too, so a task's agent is known
            .some((v) => v.runtimeId === runtime.runtimeId && v.agentId !== null),
        ),
      { what: 'orchestration to know every agent instance', timeoutMs: 100_000, intervalMs: 250 },
    );
  }, 150_000);
  afterAll(() => started.stop());

  const gql = <T>(query: string, variables: Record<string, unknown> = {}, auth = operator) =>
    postGraphQL<T>(gateway.httpUrl, query, variables, auth);
  async function run(capability: string, input: unknown) {
    const submitted = await gql<{ submitTask: Task }>(
      `mutation($input: SubmitTaskInput!) { submitTask(input: $input) { ${TASK_FIELDS} } }`,
      { input: { capability, input } },
    );
    expect(submitted.body.errors).toBeUndefined();
    const id = submitted.body.data!.submitTask.id;
    return pollFor(
      async () => {
        const t = (await gql<{ task: Task }>(`query($id: ID!) { task(id: $id) { ${TASK_FIELDS} } }`, { id }))
          .body.data?.task;
        return t && !['SUBMITTED', 'WORKING'].includes(t.status) && t;
      },
      { what: `${capability} to finish` },
    );
  }

  it('runs a task of every category to a useful deliverable', async () => {
    const math = await run('tutoring.solve-problem', { request: 'Solve 3x + 5 = 20' });
    expect(math).toMatchObject({ status: 'COMPLETED', agent: { handle: 'wow-math-mentor' } });
    expect(math.output!.content).toContain('x = 5');

    const lead = await run('sales.qualify-lead', {
      request: 'Qualify this lead',
      details: { lead: { budget: 'approved', authority: 'CEO', need: 'urgent', timeline: 'this month' } },
    });
    expect(lead.status).toBe('COMPLETED');
    expect(lead.output!.summary).toMatch(/BANT \d+\/100, hot/);

    const article = await run('content.write-article', {
      request: 'An article on managing diabetes for clinic patients',
      details: { keywords: ['diabetes', 'diet', 'exercise'] },
    });
    expect(article.status).toBe('COMPLETED');
    expect(article.output!.content).toMatch(/diabetes/i);

    const support = await run('support.answer-ticket', { request: 'How do I cancel my trial?' });
    expect(support.status).toBe('COMPLETED');
    expect(support.output!.content.length).toBeGreaterThan(50);

    const rejected = await run('tutoring.solve-problem', 42);
    expect(rejected.status).toBe('REJECTED');
    expect(rejected.error).toBeTruthy();

    // WowAnalytics reports on those tasks through orchestration's figures.
    const report = await run('analytics.build-report', {
      request: 'Task report for wow-math-mentor this week',
    });
    expect(report.status).toBe('COMPLETED');
    const figures = JSON.parse(report.output!.content) as {
      source: string;
      figures: { completed: number; failed: number };
    };
    expect(figures.source).toBe('taskStats');
    expect(figures.figures.completed).toBeGreaterThanOrEqual(1);

    // The agent's figures, from orchestration, on identity's agent.
    const stats = await gql<{
      agentByHandle: { stats: { completed: number; averageResponseMs: number | null } };
    }>(`{ agentByHandle(handle: "wow-math-mentor") { stats { completed averageResponseMs } } }`);
    expect(stats.body.data!.agentByHandle.stats.completed).toBeGreaterThanOrEqual(1);
    expect(stats.body.data!.agentByHandle.stats.averageResponseMs).not.toBeNull();
  });

  it('streams a task’s updates to a subscriber, with the task’s output', async () => {
    const client = createClient({
      url: gateway.wsUrl,
      webSocketImpl: WebSocket,
      connectionParams: { authorization: `Bearer ${operator}` },
      retryAttempts: 0,
    });
    type Update = { taskId: string; status: string; task: { output: { content: string } | null } | null };
    const seen: Update[] = [];
    let id: string | undefined;
    const heard = await gateway.whenListening();
    const listening = (async () => {
      for await (const result of client.iterate<{ taskUpdated: Update }>({
        query: `subscription { taskUpdated { taskId status task { output { content } } } }`,
      })) {
        if (result.errors) throw new Error(JSON.stringify(result.errors));
        const update = result.data!.taskUpdated;
        if (update.taskId !== id) continue;
        seen.push(update);
        if (update.status === 'COMPLETED') break;
      }
    })();
    try {
      await heard(); // the task's updates are published once the subscription hears the feed
      const submitted = await gql<{ submitTask: Task }>(
        `mutation($input: SubmitTaskInput!) { submitTask(input: $input) { id } }`,
        {
          input: {
            capability: 'tutoring.solve-problem',
            input: { request: 'Solve 2x + 3 = 4' },
            priority: 'HIGH',
          },
        },
      );
      id = submitted.body.data!.submitTask.id;
      await listening;
      expect(seen.map((e) => e.status)).toEqual(['SUBMITTED', 'WORKING', 'COMPLETED']);
      expect(seen.at(-1)!.task!.output!.content).toContain('1/2');
    } finally {
      await client.dispose();
    }
  });

  it('runs a diamond workflow whose last node sees both parents’ outputs, and refuses a cycle', async () => {
    const ask = (request: string) => ({ request });
    const res = await gql<{ submitWorkflow: { id: string } }>(
      `mutation($input: SubmitWorkflowInput!) { submitWorkflow(input: $input) { id } }`,
      {
        input: {
          name: 'clinic launch',
          nodes: [
            {
              id: 'plan',
              capability: 'content.plan-calendar',
              input: ask('A content calendar for a diabetes clinic'),
            },
            {
              id: 'article',
              capability: 'content.write-article',
              input: ask('An article on diabetes diet'),
              dependsOn: ['plan'],
            },
            {
              id: 'math',
              capability: 'tutoring.solve-problem',
              input: ask('Solve 4x - 8 = 0'),
              dependsOn: ['plan'],
            },
            {
              id: 'notify',
              capability: 'notification.send',
              input: ask('Tell the clinic the launch pack is ready'),
              dependsOn: ['article', 'math'],
            },
          ],
        },
      },
    );
    expect(res.body.errors).toBeUndefined();
    const id = res.body.data!.submitWorkflow.id;
    type Wf = {
      status: string;
      nodes: {
        id: string;
        status: string;
        task: { input: { parents?: Record<string, { title: string } | null> } } | null;
      }[];
    };
    const wf = await pollFor(
      async () => {
        const w = (
          await gql<{ workflow: Wf }>(
            `query($id: ID!) { workflow(id: $id) { status nodes { id status task { input } } } }`,
            { id },
          )
        ).body.data?.workflow;
        return w && w.status !== 'RUNNING' && w;
      },
      { what: 'the workflow to finish' },
    );
    expect(wf.status).toBe('COMPLETED');
    const parents = wf.nodes.find((n) => n.id === 'notify')!.task!.input.parents!;
    expect(Object.keys(parents).sort()).toEqual(['article', 'math']);
    expect(parents.article!.title).toBeTruthy();

    const cycle = await gql(
      `mutation($input: SubmitWorkflowInput!) { submitWorkflow(input: $input) { id } }`,
      {
        input: {
          name: 'loop',
          nodes: [
            { id: 'a', capability: 'content.write-article', input: ask('a'), dependsOn: ['b'] },
            { id: 'b', capability: 'content.write-article', input: ask('b'), dependsOn: ['a'] },
          ],
        },
      },
    );
    expect(cycle.body.errors?.[0]?.extensions).toMatchObject({
      code: 'WORKFLOW_CYCLE',
      path: ['a', 'b', 'a'],
    });
  });

  it('compensates a saga’s completed steps in reverse order when its third step fails', async () => {
    const step = (name: string, capability: string, input: unknown) => ({
      name,
      action: { capability, input, retryPolicy: { maxAttempts: 1 } },
      compensation: { capability: 'notification.send', input: { request: `Undo ${name}` } },
    });
    const res = await gql<{ submitSaga: { id: string } }>(
      `mutation($input: SubmitSagaInput!) { submitSaga(input: $input) { id } }`,
      {
        input: {
          name: 'trial activation',
          steps: [
            step('reserve', 'notification.send', { request: 'Reserve capacity' }),
            step('create', 'content.write-article', { request: 'Welcome pack article' }),
            // Input the skill refuses: the step fails, and the saga unwinds.
            step('welcome', 'tutoring.solve-problem', 42),
          ],
        },
      },
    );
    expect(res.body.errors).toBeUndefined();
    const id = res.body.data!.submitSaga.id;
    type Saga = {
      state: string;
      steps: { name: string; state: string }[];
      log: { step: string | null; event: string }[];
    };
    const saga = await pollFor(
      async () => {
        const s = (
          await gql<{ saga: Saga }>(
            `query($id: ID!) { saga(id: $id) { state steps { name state } log { step event } } }`,
            { id },
          )
        ).body.data?.saga;
        return s && ['COMPENSATED', 'FAILED', 'COMPLETED'].includes(s.state) && s;
      },
      { what: 'the saga to finish' },
    );
    expect(saga.state).toBe('COMPENSATED');
    expect(saga.steps.map((s) => s.state)).toEqual(['COMPENSATED', 'COMPENSATED', 'FAILED']);
    const compensated = saga.log.filter((e) => e.event === 'compensation completed').map((e) => e.step);
    expect(compensated).toEqual(['create', 'reserve']);
  });
});
