import { InputLimits } from '@waooaw/shared';
import { pollFor, uniqueName } from '@waooaw/shared/testing';
import type { Harness } from './harness';
import { deliverable, startOrchestration } from './harness';

interface Workflow {
  id: string;
  status: string;
  nodes: {
    id: string;
    status: string;
    task: {
      id: string;
      status: string;
      input: Record<string, unknown>;
      output: { title: string } | null;
    } | null;
  }[];
}
interface Saga {
  id: string;
  state: string;
  steps: {
    name: string;
    state: string;
    action: { status: string } | null;
    compensation: { status: string } | null;
  }[];
  log: { step: string | null; event: string }[];
}

const WORKFLOW_FIELDS = `id status nodes { id status task { id status input output { title } } }`;
const SAGA_FIELDS = `id state steps { name state action { status } compensation { status } } log { step event }`;

describe('orchestration: workflows and sagas', () => {
  let o: Harness;
  let capability: string;
  beforeAll(async () => {
    o = await startOrchestration();
    capability = `test.${uniqueName('wf')
      .toLowerCase()
      .replace(/[^a-z0-9-]/g, '')}`;
    await o.instance([capability], { concurrency: 8 });
    // Each node answers with its own name, so a child can show what its parents gave it.
    o.script((a) => {
      const input = a.input as { name?: string; fail?: boolean };
      return input.fail
        ? { outcome: 'FAILED', error: `${input.name ?? 'step'} broke` }
        : { outcome: 'SUCCEEDED', output: deliverable(`output of ${input.name ?? a.taskId}`) };
    });
  });
  afterAll(() => o.stop());

  const node = (id: string, dependsOn: string[] = [], extra: Record<string, unknown> = {}) => ({
    id,
    capability,
    dependsOn,
    input: { name: id, ...extra },
    retryPolicy: { maxAttempts: 1 },
  });
  const submitWorkflow = async (nodes: unknown[], failurePolicy = 'FAIL_FAST') =>
    o.exec(
      `mutation($input: SubmitWorkflowInput!) { submitWorkflow(input: $input) { ${WORKFLOW_FIELDS} } }`,
      {
        input: { name: 'test workflow', nodes, failurePolicy },
      },
    );
  const workflow = async (id: string) =>
    (
      (await o.exec(`query($id: ID!) { workflow(id: $id) { ${WORKFLOW_FIELDS} } }`, { id })).data as {
        workflow: Workflow;
      }
    ).workflow;
  const finished = (id: string) =>
    pollFor(
      async () => {
        const wf = await workflow(id);
        return wf.status !== 'RUNNING' && wf;
      },
      { what: `workflow ${id} to finish` },
    );

  it('runs a diamond: the two middle nodes in parallel, the last one seeing both parents’ outputs', async () => {
    const res = await submitWorkflow([node('a'), node('b', ['a']), node('c', ['a']), node('d', ['b', 'c'])]);
    expect(res.errors).toBeUndefined();
    const submitted = (res.data as { submitWorkflow: Workflow }).submitWorkflow;
    expect(submitted.nodes.map((n) => n.status)).toEqual(['RUNNING', 'PENDING', 'PENDING', 'PENDING']);
    const done = await finished(submitted.id);
    expect(done.status).toBe('COMPLETED');
    const d = done.nodes.find((n) => n.id === 'd')!;
    expect(d.task!.output!.title).toBe('output of d');
    expect(d.task!.input).toMatchObject({
      name: 'd',
      parents: { b: { title: 'output of b' }, c: { title: 'output of c' } },
    });
    const b = o.received.find((a) => a.taskId === `${submitted.id}.b`)!;
    const c = o.received.find((a) => a.taskId === `${submitted.id}.c`)!;
    const dAssigned = o.received.findIndex((a) => a.taskId === `${submitted.id}.d`);
    expect(o.received.indexOf(b)).toBeLessThan(dAssigned);
    expect(o.received.indexOf(c)).toBeLessThan(dAssigned);
  });

  it('refuses a cycle with WORKFLOW_CYCLE and its path', async () => {
    const res = await submitWorkflow([node('a', ['c']), node('b', ['a']), node('c', ['b'])]);
    expect(res.errors?.[0]?.extensions).toMatchObject({ code: 'WORKFLOW_CYCLE', path: ['a', 'b', 'c', 'a'] });
    expect(res.errors?.[0]?.message).toMatch(/cycle: a -> b -> c -> a/);
  });

  it('fails fast, or skips only what depends on the failed node', async () => {
    const nodes = [node('a', [], { fail: true }), node('b', ['a']), node('x'), node('y', ['x'])];
    const fast = await finished(
      ((await submitWorkflow(nodes)).data as { submitWorkflow: Workflow }).submitWorkflow.id,
    );
    expect(fast.status).toBe('FAILED');
    expect(fast.nodes.find((n) => n.id === 'b')!.status).toBe('CANCELED');

    const cont = await finished(
      ((await submitWorkflow(nodes, 'CONTINUE')).data as { submitWorkflow: Workflow }).submitWorkflow.id,
    );
    expect(cont.status).toBe('FAILED');
    expect(Object.fromEntries(cont.nodes.map((n) => [n.id, n.status]))).toEqual({
      a: 'FAILED',
      b: 'SKIPPED',
      x: 'COMPLETED',
      y: 'COMPLETED',
    });
  });

  it('compensates completed steps in reverse order when the third step fails', async () => {
    const step = (name: string, fail = false) => ({
      name,
      action: {
        capability,
        input: { name: `${name}-do`, fail },
        retryPolicy: { maxAttempts: 2, initialDelayMs: 10 },
      },
      compensation: { capability, input: { name: `${name}-undo` } },
    });
    const res = await o.exec(`mutation($input: SubmitSagaInput!) { submitSaga(input: $input) { id } }`, {
      input: { name: 'activate a trial', steps: [step('reserve'), step('create'), step('notify', true)] },
    });
    expect(res.errors).toBeUndefined();
    const id = (res.data as { submitSaga: { id: string } }).submitSaga.id;
    const saga = await pollFor(
      async () => {
        const s = (
          (await o.exec(`query($id: ID!) { saga(id: $id) { ${SAGA_FIELDS} } }`, { id })).data as {
            saga: Saga;
          }
        ).saga;
        return s.state === 'COMPENSATED' && s;
      },
      { what: 'the saga to be compensated' },
    );
    expect(saga.steps.map((s) => [s.name, s.state])).toEqual([
      ['reserve', 'COMPENSATED'],
      ['create', 'COMPENSATED'],
      ['notify', 'FAILED'],
    ]);
    const ran = o.received
      .filter((a) => a.taskId.startsWith(id))
      .map((a) => (a.input as { name: string }).name);
    expect(ran).toEqual(['reserve-do', 'create-do', 'notify-do', 'notify-do', 'create-undo', 'reserve-undo']);
    // The compensation saw what its action produced.
    const undo = o.received.find((a) => (a.input as { name: string }).name === 'create-undo')!;
    expect(undo.input).toMatchObject({ action: { title: 'output of create-do' } });
  });

  it('finishes a workflow after orchestration restarts mid-way, running no node twice', async () => {
    o.script((a) => {
      const input = a.input as { name?: string; hold?: boolean };
      return input.hold
        ? null
        : { outcome: 'SUCCEEDED', output: deliverable(`output of ${input.name ?? a.taskId}`) };
    });
    const res = await submitWorkflow([
      {
        ...node('first'),
        timeoutMs: 800,
        retryPolicy: { maxAttempts: 3, initialDelayMs: 10 },
        input: { name: 'first', hold: true },
      },
      node('second', ['first']),
    ]);
    const id = (res.data as { submitWorkflow: Workflow }).submitWorkflow.id;
    await pollFor(() => o.received.some((a) => a.taskId === `${id}.first`), {
      what: 'the first node to be dispatched',
    });
    // The first attempt gets no answer; orchestration stops and a new one takes over the database.
    o.script((a) => ({
      outcome: 'SUCCEEDED',
      output: deliverable(`output of ${(a.input as { name: string }).name}`),
    }));
    await o.restart();
    const done = await finished(id);
    expect(done.status).toBe('COMPLETED');
    const secondRuns = o.received.filter((a) => a.taskId === `${id}.second`);
    expect(secondRuns).toHaveLength(1);
    const first = done.nodes.find((n) => n.id === 'first')!;
    expect(first.task!.status).toBe('COMPLETED');
  });

  it('resolves Task, Workflow and Saga references (_entities, as other subgraphs reach them) only for their owner and staff', async () => {
    const customer = o.execAs('cust-entities');
    const wf = await customer<{ submitWorkflow: Workflow }>(
      `mutation($input: SubmitWorkflowInput!) { submitWorkflow(input: $input) { ${WORKFLOW_FIELDS} } }`,
      { input: { name: 'mine', nodes: [node('private', [], { secret: 'cust-entities plan' })] } },
      ['customer'],
    );
    expect(wf.errors).toBeUndefined();
    const workflowId = wf.data!.submitWorkflow.id;
    const taskId = await pollFor<string>(async () => (await workflow(workflowId)).nodes[0]!.task?.id);
    const saga = await o.execAs('ops-entities')<{ submitSaga: { id: string } }>(
      `mutation($input: SubmitSagaInput!) { submitSaga(input: $input) { id } }`,
      { input: { name: 'staff saga', steps: [{ name: 'only', action: { capability, input: {} } }] } },
      ['operator'],
    );
    expect(saga.errors).toBeUndefined();
    const representations = [
      { __typename: 'Task', id: taskId },
      { __typename: 'Workflow', id: workflowId },
      { __typename: 'Saga', id: saga.data!.submitSaga.id },
    ];
    const ENTITIES = `query($r: [_Any!]!) { _entities(representations: $r) {
      ... on Task { id input } ... on Workflow { id name } ... on Saga { id name } } }`;
    const codes = async (sub: string, roles: Parameters<typeof customer>[2]) => {
      const res = await o.execAs(sub)<{ _entities: ({ id: string } | null)[] }>(
        ENTITIES,
        { r: representations },
        roles,
      );
      return representations.map((_, i) =>
        res.data?._entities[i]
          ? 'OK'
          : (res.errors?.find((e) => e.path?.[1] === i)?.extensions?.code ?? 'NULL'),
      );
    };
    // The workflow and its task are the customer's; the saga, submitted by staff, is nobody's.
    expect(await codes('cust-entities', ['customer'])).toEqual(['OK', 'OK', 'FORBIDDEN']);
    expect(await codes('ops-entities', ['operator'])).toEqual(['OK', 'OK', 'OK']);
    expect(await codes('sup-entities', ['support-l1'])).toEqual(['FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN']);
    expect(await codes('cust-other', ['customer'])).toEqual(['FORBIDDEN', 'FORBIDDEN', 'FORBIDDEN']);
    expect(await codes('anonymous', null)).toEqual(['UNAUTHENTICATED', 'UNAUTHENTICATED', 'UNAUTHENTICATED']);
  });

  it('refuses workflow and saga inputs over their size limits with BAD_USER_INPUT naming the limit', async () => {
    const perTask = InputLimits.taskInputBytes;
    // {"name":"a","pad":"..."}: 21 bytes around the padding.
    const sized = (id: string, bytes: number) => ({
      ...node(id),
      input: { name: id, pad: 'x'.repeat(bytes - 21) },
    });

    const oneTooLarge = await submitWorkflow([node('a'), sized('b', perTask + 1)]);
    expect(oneTooLarge.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.nodes.1.input',
      maxBytes: perTask,
    });
    // Each node within its limit, but together more than a workflow may hold.
    const together = await submitWorkflow(['a', 'b', 'c'].map((id) => sized(id, perTask)));
    expect(together.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.nodes',
      maxBytes: InputLimits.workflowInputBytes,
    });
    expect(together.errors?.[0]?.message).toMatch(/input\.nodes is \d+ bytes, over the limit of 512 KiB/);

    // Two nodes at the per-task limit (together just under the workflow's) run to the end.
    const accepted = await submitWorkflow([sized('a', perTask), sized('b', perTask)]);
    expect(accepted.errors).toBeUndefined();
    const id = (accepted.data as { submitWorkflow: Workflow }).submitWorkflow.id;
    expect((await finished(id)).status).toBe('COMPLETED');

    const saga = await o.exec(`mutation($input: SubmitSagaInput!) { submitSaga(input: $input) { id } }`, {
      input: {
        name: 'too large',
        steps: [
          {
            name: 'reserve',
            action: { capability, input: { name: 'reserve' } },
            compensation: { capability, input: { pad: 'x'.repeat(perTask) } },
          },
        ],
      },
    });
    expect(saga.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.steps.0.compensation.input',
      maxBytes: perTask,
    });
  });
});
