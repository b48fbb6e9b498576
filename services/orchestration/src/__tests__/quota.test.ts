import { pollFor, uniqueName } from '@waooaw/shared/testing';
import type { Assignment, Harness } from './harness';
import { answerSucceeded, deliverable, startOrchestration, uniqueCapability } from './harness';

const SUBMIT = `mutation($input: SubmitTaskInput!) { submitTask(input: $input) { id status } }`;
const SUBMIT_WORKFLOW = `mutation($input: SubmitWorkflowInput!) { submitWorkflow(input: $input) { id status } }`;
const CANCEL = `mutation($id: ID!) { cancelTask(id: $id) { status } }`;
const LIMIT = 3;

/** Bounded memory: per-customer quotas on queued work, and a queue that holds no task inputs. */
describe('orchestration: bounded queue', () => {
  let o: Harness;
  beforeAll(async () => {
    o = await startOrchestration({
      config: { MAX_QUEUED_TASKS_PER_CUSTOMER: LIMIT, MAX_RUNNING_WORKFLOWS_PER_CUSTOMER: 1 },
    });
  });
  afterAll(() => o.stop());

  const cap = uniqueCapability;
  const as = (sub: string, role: 'customer' | 'operator') => {
    const exec = o.execAs(sub);
    return (query: string, variables: Record<string, unknown>) => exec(query, variables, [role]);
  };
  const submitted = (res: { data?: unknown; errors?: unknown }) => {
    expect(res.errors).toBeUndefined();
    return (res.data as { submitTask: { id: string; status: string } }).submitTask;
  };
  const answer = (a: Assignment) => answerSucceeded(o, a);

  it('refuses a customer’s task beyond MAX_QUEUED_TASKS_PER_CUSTOMER with QUOTA_EXCEEDED, not staff or other customers', async () => {
    const capability = cap();
    await o.instance([capability], { concurrency: 1 });
    o.script(() => null); // every attempt stays running: one WORKING, the rest SUBMITTED
    const customer = as(uniqueName('cust'), 'customer');
    const spec = { capability, input: { n: 1 }, timeoutMs: 600_000 };
    const ids = [];
    for (let i = 0; i < LIMIT; i++) ids.push(submitted(await customer(SUBMIT, { input: spec })).id);

    const refused = await customer(SUBMIT, { input: spec });
    expect(refused.errors?.[0]).toMatchObject({
      extensions: { code: 'QUOTA_EXCEEDED', limit: LIMIT, queued: LIMIT },
    });
    expect(refused.errors?.[0]?.message).toMatch(
      /3 tasks queued or running, the most one customer may .*cancel .*\(cancelTask\), then submit again/,
    );
    // A resubmission under an idempotency key finds its task rather than counting it again.
    const keyed = { ...spec, idempotencyKey: uniqueName('key') };
    const other = as(uniqueName('cust'), 'customer');
    const first = submitted(await other(SUBMIT, { input: keyed }));
    submitted(await other(SUBMIT, { input: spec }));
    submitted(await other(SUBMIT, { input: spec }));
    expect(submitted(await other(SUBMIT, { input: keyed })).id).toBe(first.id);

    // Staff are not limited by the customer quota.
    const operator = as(uniqueName('op'), 'operator');
    for (let i = 0; i < LIMIT + 2; i++) submitted(await operator(SUBMIT, { input: spec }));

    // A finished (here canceled) task frees its place.
    expect(await customer(CANCEL, { id: ids[1] })).toMatchObject({
      data: { cancelTask: { status: 'CANCELED' } },
    });
    submitted(await customer(SUBMIT, { input: spec }));
    expect((await customer(SUBMIT, { input: spec })).errors?.[0]?.extensions.code).toBe('QUOTA_EXCEEDED');
  });

  it('refuses a customer’s workflow beyond MAX_RUNNING_WORKFLOWS_PER_CUSTOMER', async () => {
    const capability = cap();
    await o.instance([capability], { concurrency: 1 });
    o.script(() => null);
    const customer = as(uniqueName('cust'), 'customer');
    const workflow = {
      name: 'quota',
      nodes: [{ id: 'a', capability, input: {}, timeoutMs: 600_000 }],
    };
    const first = await customer(SUBMIT_WORKFLOW, { input: workflow });
    expect(first.errors).toBeUndefined();
    const second = await customer(SUBMIT_WORKFLOW, { input: workflow });
    expect(second.errors?.[0]).toMatchObject({
      extensions: { code: 'QUOTA_EXCEEDED', limit: 1, running: 1 },
    });
    expect(second.errors?.[0]?.message).toMatch(
      /You have 1 workflow running, the most one customer may .*\(cancelWorkflow\)/,
    );
    expect((await as('op-wf', 'operator')(SUBMIT_WORKFLOW, { input: workflow })).errors).toBeUndefined();
  });

  it('keeps no task input in the queue, reads it when dispatching, also after a restart', async () => {
    const capability = cap();
    const instance = await o.instance([capability], { concurrency: 1 });
    o.script(() => null);
    const operator = as(uniqueName('op'), 'operator');
    const big = (n: number) => ({ n, text: `${n}`.padEnd(200_000, '.') });
    const ids: string[] = [];
    for (let n = 0; n < 6; n++)
      ids.push(
        submitted(await operator(SUBMIT, { input: { capability, input: big(n), timeoutMs: 600_000 } })).id,
      );
    await pollFor(() => o.received.some((a) => a.taskId === ids[0]), { what: 'the first dispatch' });

    const entriesOf = () => o.server.engine.queuedEntries().filter((e) => ids.includes(e._id));
    const expectNoInputs = () => {
      const entries = entriesOf();
      expect(entries.map((e) => e._id).sort()).toEqual(ids.slice(1).sort());
      for (const entry of entries) expect(Object.keys(entry)).not.toContain('input');
      // Five 200 kB inputs queued; what the queue holds of them is a few hundred bytes each.
      expect(JSON.stringify(entries).length).toBeLessThan(5 * 1000);
    };
    expectNoInputs();
    await o.restart();
    // The restarted engine is on the same instance; the first task is still running on it.
    await pollFor(() => o.server.replica.get(instance.instanceId) !== undefined);
    expectNoInputs();

    o.script((a) => ({ outcome: 'SUCCEEDED', output: deliverable(`done ${a.taskId}`) }));
    await answer(o.received.find((a) => a.taskId === ids[0])!);
    await pollFor(() => ids.every((id) => o.received.some((a) => a.taskId === id)), {
      what: 'every queued task to be dispatched',
      timeoutMs: 20_000,
    });
    ids.forEach((id, n) => expect(o.received.find((a) => a.taskId === id)!.input).toEqual(big(n)));
    await pollFor(
      async () => (await o.server.tasks.countDocuments({ _id: { $in: ids }, status: 'COMPLETED' })) === 6,
      {
        what: 'every task to complete',
      },
    );
    // Only instances with attempts running are in the engine's in-flight counts (idle ones leave).
    const running = await o.server.tasks.distinct('attempts.instanceId', { status: 'WORKING' });
    expect(running).not.toContain(instance.instanceId);
    expect(o.server.engine.memory().instances).toBe(running.length);
  });
});
