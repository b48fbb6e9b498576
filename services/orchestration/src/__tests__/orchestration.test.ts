import { agentsMessages, InputLimits, orchestrationCommands } from '@waooaw/shared';
import { pollFor, uniqueName } from '@waooaw/shared/testing';
import type { Harness } from './harness';
import {
  answerSucceeded,
  deliverable,
  startOrchestration,
  succeeding,
  TASK_FIELDS,
  uniqueCapability,
} from './harness';

interface Task {
  id: string;
  status: string;
  priority: string;
  error: string | null;
  attempts: { number: number; outcome: string | null; error: string | null; instance: { id: string } }[];
  output: { title: string; summary: string; content: string } | null;
}

const SUBMIT = `mutation($input: SubmitTaskInput!) { submitTask(input: $input) { ${TASK_FIELDS} } }`;
const TASK = `query($id: ID!) { task(id: $id) { ${TASK_FIELDS} } }`;

describe('orchestration: tasks through a scripted runtime', () => {
  let o: Harness;
  beforeAll(async () => {
    o = await startOrchestration();
  });
  afterAll(() => o.stop());

  const cap = uniqueCapability;
  const submit = async (
    input: Record<string, unknown>,
    roles: ('customer' | 'operator')[] = ['operator'],
  ) => {
    const res = await o.exec(SUBMIT, { input }, roles);
    if (res.errors) throw new Error(JSON.stringify(res.errors));
    return (res.data as { submitTask: Task }).submitTask;
  };
  const task = async (id: string) => ((await o.exec(TASK, { id })).data as { task: Task }).task;
  const settled = (id: string) =>
    pollFor(
      async () => {
        const t = await task(id);
        return ['COMPLETED', 'FAILED', 'REJECTED', 'CANCELED'].includes(t.status) && t;
      },
      { what: `task ${id} to finish` },
    );

  it('rejects a task nobody can run, with the reason, instead of queueing it forever', async () => {
    const t = await submit({ capability: 'nobody.offers-this', input: {} });
    expect(t).toMatchObject({ status: 'REJECTED', attempts: [] });
    expect(t.error).toMatch(/No registered agent offers nobody.offers-this/);
    const bad = await o.exec(SUBMIT, { input: { capability: 'Not A Capability', input: {} } });
    expect(bad.errors?.[0]?.extensions.code).toBe('BAD_USER_INPUT');
    const badRange = await o.exec(SUBMIT, { input: { capability: 'a.b', versionRange: 'what', input: {} } });
    expect(badRange.errors?.[0]?.message).toMatch(/semver range/);
  });

  it('refuses a task input over its size limit with BAD_USER_INPUT naming the limit; one at the limit runs through Kafka', async () => {
    const capability = cap();
    await o.instance([capability]);
    const limit = InputLimits.taskInputBytes;
    // {"text":"..."}: 11 bytes around the text.
    const sized = (bytes: number) => ({ text: 'x'.repeat(bytes - 11) });

    const over = await o.exec(SUBMIT, { input: { capability, input: sized(limit + 1) } });
    expect(over.data).toBeNull();
    expect(over.errors?.[0]?.extensions).toMatchObject({
      code: 'BAD_USER_INPUT',
      field: 'input.input',
      maxBytes: limit,
      bytes: limit + 1,
    });
    expect(over.errors?.[0]?.message).toMatch(/input\.input is \d+ bytes, over the limit of 256 KiB/);

    // At the limit: accepted, and its events (SUBMITTED, the runtime's assignment) fit in Kafka.
    const submitted = await submit({ capability, input: sized(limit) });
    expect((await settled(submitted.id)).status).toBe('COMPLETED');
    expect(o.received.find((a) => a.taskId === submitted.id)!.input).toEqual(sized(limit));
  });

  it('takes tasks submitted over Kafka under the client’s id, once, and runs them on the agent asked for', async () => {
    const capability = cap();
    await o.instance([capability]);
    const other = await o.instance([capability], { handle: 'wow-other' });
    const command = (taskId: string, spec: Record<string, unknown>) =>
      o.outside.publish(
        orchestrationCommands.submitTask,
        { taskId, actor: 'bench', customerId: 'cust-kafka', spec },
        { subject: taskId },
      );
    const id = uniqueName('cmd');
    const spec = { capability, agentHandle: 'wow-other', input: { n: 1 }, priority: 'HIGH' };
    await command(id, spec);
    await command(id, spec); // redelivered: the same task, not a second one
    const done = await settled(id);
    expect(done).toMatchObject({ status: 'COMPLETED', priority: 'HIGH' });
    expect(done.attempts.map((a) => a.instance.id)).toEqual([other.instanceId]);
    const completed = await pollFor(() =>
      o.eventsOf('orchestration.task.updated', id).find((e) => e.data.status === 'COMPLETED'),
    );
    expect(completed.data).toMatchObject({ agentHandle: 'wow-other', customerId: 'cust-kafka' });
    expect((completed.data.output as { title: string } | null)?.title).toBe(`${capability} for ${id}`);
    expect(await o.server.tasks.countDocuments({ _id: id }).exec()).toBe(1);

    const invalid = uniqueName('cmd');
    await command(invalid, { capability: 'Not A Capability', input: {} });
    expect(await settled(invalid)).toMatchObject({ status: 'REJECTED' });
    expect((await task(invalid)).error).toMatch(/not valid: .*dotted capability name/);
    const nobody = uniqueName('cmd');
    await command(nobody, { capability, agentHandle: 'wow-nobody', input: {} });
    expect((await settled(nobody)).error).toMatch(/No registered instance of wow-nobody offers/);
  });

  it('persists, dispatches to the instance’s runtime inbox and completes with the output, once', async () => {
    const capability = cap();
    const instance = await o.instance([capability]);
    const submitted = await submit({ capability, input: { topic: 'diabetes care' }, priority: 'HIGH' });
    expect(submitted.status).toBe('SUBMITTED');
    const done = await settled(submitted.id);
    expect(done).toMatchObject({
      status: 'COMPLETED',
      attempts: [{ number: 1, outcome: 'SUCCEEDED', instance: { id: instance.instanceId } }],
      output: { title: `${capability} for ${submitted.id}` },
    });
    const assignment = o.received.find((a) => a.taskId === submitted.id)!;
    expect(assignment.input).toEqual({ topic: 'diabetes care' });
    // Counted once on /metrics, by capability and outcome, with its time from submission.
    // (The listener runs right after the write that the test saw.)
    const finished = await pollFor(
      async () => {
        const metric = await o.server.metrics.registry.getSingleMetric('waooaw_tasks_finished_total')!.get();
        return metric.values.some((v) => v.labels.capability === capability) && metric;
      },
      { what: 'the finished task counted' },
    );
    expect(finished.values.filter((v) => v.labels.capability === capability)).toEqual([
      expect.objectContaining({ labels: { capability, outcome: 'COMPLETED' }, value: 1 }),
    ]);
    const durations = await o.server.metrics.registry.getSingleMetric('waooaw_task_duration_seconds')!.get();
    // The +Inf bucket holds every observation.
    expect(
      durations.values.find((v) => v.labels.capability === capability && v.labels.le === '+Inf')?.value,
    ).toBe(1);

    // A task the runtime leaves unanswered: its result, published by hand behind the duplicate below,
    // tells when the duplicate has been handled.
    const silentCapability = cap();
    const silentInstance = await o.instance([silentCapability]);
    o.script((x) => (x.capability === silentCapability ? null : succeeding(x)));
    const marker = await submit({ capability: silentCapability, input: {} });
    await pollFor(() => o.received.some((a) => a.taskId === marker.id), { what: 'the marker task assigned' });

    // Kafka delivers the result again: nothing changes, nothing is announced twice.
    await o.outside.publish(
      agentsMessages.taskResult,
      {
        taskId: submitted.id,
        attempt: 1,
        instanceId: instance.instanceId,
        runtimeId: o.runtimeId,
        outcome: 'FAILED',
        error: 'late duplicate',
        durationMs: 1,
      },
      { subject: submitted.id },
    );
    // Keyed like the duplicate, so on its partition behind it (one key's results are handled in order).
    await o.outside.publish(
      agentsMessages.taskResult,
      {
        taskId: marker.id,
        attempt: 1,
        instanceId: silentInstance.instanceId,
        runtimeId: o.runtimeId,
        outcome: 'SUCCEEDED',
        output: deliverable('marker'),
        durationMs: 1,
      },
      { subject: marker.id, key: submitted.id },
    );
    expect((await settled(marker.id)).status).toBe('COMPLETED');
    o.script(succeeding);
    // What the duplicate would have announced was published before the marker's own announcements.
    await pollFor(() =>
      o.eventsOf('orchestration.attempt.finished').some((e) => e.data.taskId === marker.id),
    );
    await pollFor(() =>
      o.eventsOf('orchestration.attempt.finished').some((e) => e.data.taskId === submitted.id),
    );
    expect((await task(submitted.id)).status).toBe('COMPLETED');
    const statuses = o.eventsOf('orchestration.task.updated', submitted.id).map((e) => e.data.status);
    expect(statuses).toEqual(['SUBMITTED', 'WORKING', 'COMPLETED']);
    expect(
      o.eventsOf('orchestration.attempt.finished').filter((e) => e.data.taskId === submitted.id),
    ).toHaveLength(1);
  });

  it('retries a failed attempt on another instance, and fails for good after maxAttempts', async () => {
    const capability = cap();
    const [a, b] = [await o.instance([capability]), await o.instance([capability])];
    o.script((x) =>
      x.capability !== capability
        ? { outcome: 'SUCCEEDED', output: deliverable('other') }
        : x.attempt === 1
          ? { outcome: 'FAILED', error: 'upstream 503' }
          : { outcome: 'SUCCEEDED', output: deliverable('second try') },
    );
    const retried = await settled((await submit({ capability, input: {} })).id);
    expect(retried.status).toBe('COMPLETED');
    expect(retried.attempts.map((x) => x.outcome)).toEqual(['FAILED', 'SUCCEEDED']);
    expect(retried.attempts[0]!.instance.id).not.toBe(retried.attempts[1]!.instance.id);
    expect([a.instanceId, b.instanceId]).toEqual(
      expect.arrayContaining(retried.attempts.map((x) => x.instance.id)),
    );

    o.script(() => ({ outcome: 'FAILED', error: 'always broken' }));
    const failed = await settled(
      (await submit({ capability, input: {}, retryPolicy: { maxAttempts: 3, jitter: 'DECORRELATED' } })).id,
    );
    expect(failed.status).toBe('FAILED');
    expect(failed.attempts).toHaveLength(3);
    expect(failed.error).toBe('attempt 3 of 3: always broken');
  });

  it('times out a silent attempt and retries it; bad input is REJECTED without retries', async () => {
    const capability = cap();
    await o.instance([capability]);
    o.script((x) =>
      x.attempt === 1 ? null : { outcome: 'SUCCEEDED', output: deliverable('after the timeout') },
    );
    const slow = await settled((await submit({ capability, input: {}, timeoutMs: 300 })).id);
    expect(slow.attempts.map((x) => x.outcome)).toEqual(['TIMED_OUT', 'SUCCEEDED']);
    expect(slow.attempts[0]!.error).toMatch(/no result within 300 ms/);

    o.script(() => ({ outcome: 'REJECTED', error: 'request: must say what is wanted' }));
    const rejected = await settled((await submit({ capability, input: 42 })).id);
    expect(rejected).toMatchObject({ status: 'REJECTED', error: 'request: must say what is wanted' });
    expect(rejected.attempts).toHaveLength(1);
  });

  it('starts CRITICAL work before LOW work submitted earlier when the instance is busy', async () => {
    const capability = cap();
    await o.instance([capability], { concurrency: 1 });
    const order: string[] = [];
    const held: (() => void)[] = [];
    o.script((x) => {
      order.push(x.taskId);
      return null; // answered by hand below, one at a time
    });
    const answer = () => answerSucceeded(o, o.received.at(-1)!);
    void held;
    const first = await submit({ capability, input: { n: 0 }, priority: 'LOW' });
    await pollFor(() => order.length === 1);
    const lows = [
      await submit({ capability, input: { n: 1 }, priority: 'LOW' }),
      await submit({ capability, input: { n: 2 }, priority: 'LOW' }),
    ];
    const critical = await submit({ capability, input: { n: 3 }, priority: 'CRITICAL' });
    for (let i = 1; i <= 3; i++) {
      await answer();
      await pollFor(() => order.length === i + 1, { what: `dispatch ${i + 1}` });
    }
    await answer();
    expect(order).toEqual([first.id, critical.id, lows[0]!.id, lows[1]!.id]);
    await settled(lows[1]!.id);
  });

  it('lets a customer see and cancel only their own tasks', async () => {
    const capability = cap();
    await o.instance([capability]);
    o.script(() => null);
    const mine = await o.execAs('cust-1')(SUBMIT, { input: { capability, input: {} } }, ['customer']);
    const id = (mine.data as { submitTask: Task }).submitTask.id;
    const other = await o.execAs('cust-2')(TASK, { id }, ['customer']);
    expect(other.errors?.[0]?.extensions.code).toBe('FORBIDDEN');
    const list = await o.execAs('cust-2')(`{ tasks { totalCount } }`, {}, ['customer']);
    expect((list.data as { tasks: { totalCount: number } }).tasks.totalCount).toBe(0);
    const canceled = await o.execAs('cust-1')(
      `mutation($id: ID!) { cancelTask(id: $id, reason: "changed my mind") { status error } }`,
      { id },
      ['customer'],
    );
    expect((canceled.data as { cancelTask: Task }).cancelTask).toMatchObject({
      status: 'CANCELED',
      error: 'changed my mind',
    });
  });

  it('returns the first task when the same idempotency key is submitted again', async () => {
    const capability = cap();
    await o.instance([capability]);
    o.script((x) => ({ outcome: 'SUCCEEDED', output: deliverable(x.taskId) }));
    const key = uniqueName('key');
    const first = await submit({ capability, input: { a: 1 }, idempotencyKey: key });
    const again = await submit({ capability, input: { a: 1 }, idempotencyKey: key });
    expect(again.id).toBe(first.id);
    await settled(first.id);
    expect(o.received.filter((a) => a.taskId === first.id)).toHaveLength(1);
  });
});
