import { pollFor } from '@waooaw/shared/testing';
import type { Assignment, Harness } from './harness';
import { answerSucceeded, startOrchestration, uniqueCapability } from './harness';

const SUBMIT = `mutation($input: SubmitTaskInput!) { submitTask(input: $input) { id status } }`;

/**
 * An instance's slots: orchestration hands an instance no more attempts than its concurrency, so
 * it must free a slot whenever an attempt stops running, also when it learns of the end only by
 * reading the task (a write of its own applied but never answered, as when MongoDB is killed
 * between the two; or another process ending it).
 */
describe('orchestration: an instance’s slots after an attempt ended by a write it never heard of', () => {
  let o: Harness;
  beforeAll(async () => {
    o = await startOrchestration();
  });
  afterAll(() => o.stop());

  const submit = async (capability: string) => {
    const res = await o.exec(SUBMIT, { input: { capability, input: { n: 1 }, timeoutMs: 600_000 } });
    expect(res.errors).toBeUndefined();
    return (res.data as { submitTask: { id: string } }).submitTask.id;
  };
  const assignmentOf = (taskId: string) =>
    pollFor(() => o.received.find((a) => a.taskId === taskId), { what: `${taskId} to be handed out` });
  /** The runtime's result, as the results consumer gets it again after a transient failure. */
  const result = (a: Assignment) => answerSucceeded(o, a);

  it('frees the slot when the result finds the attempt already ended, so the next task is handed out', async () => {
    const capability = uniqueCapability();
    const view = await o.instance([capability], { concurrency: 1 });
    o.script(() => null); // attempts stay running until the test answers them
    const first = await submit(capability);
    const running = await assignmentOf(first);

    // The attempt's end is stored, but this process never heard the answer to the write: as it
    // is after MongoDB applied the write and was killed before it answered.
    const stored = await o.server.tasks.updateOne(
      { _id: first, status: 'WORKING' },
      {
        $set: { status: 'COMPLETED', 'attempts.0.outcome': 'SUCCEEDED', completedAt: new Date() },
        $inc: { rev: 1 },
      },
    );
    expect(stored.modifiedCount).toBe(1);
    // The one slot is taken: a second task waits.
    const second = await submit(capability);
    expect(o.received.some((a) => a.taskId === second)).toBe(false);
    expect(o.server.engine.memory()).toMatchObject({ working: 1, instances: 1, queued: 1 });

    // The result comes again (the consumer retries it after the failure): it finds the attempt ended,
    // writes nothing, and frees the slot, so the waiting task goes to the instance.
    await result(running);
    const next = await assignmentOf(second);
    expect(next.instanceId).toBe(view.instanceId);
    expect(o.server.engine.memory()).toMatchObject({ working: 1, instances: 1, queued: 0 });
    const firstNow = await o.server.tasks.findOne({ _id: first }).lean();
    expect(firstNow).toMatchObject({ status: 'COMPLETED', attempts: [{ outcome: 'SUCCEEDED' }] });

    // And the second, answered normally, leaves the instance with nothing counted against it.
    await result(next);
    await pollFor(
      async () => (await o.server.tasks.findOne({ _id: second }).lean())?.status === 'COMPLETED',
      {
        what: 'the second task to complete',
      },
    );
    await pollFor(() => o.server.engine.memory().instances === 0, {
      what: 'the instance to have no attempt counted',
    });
    expect(o.server.engine.memory()).toMatchObject({ working: 0, queued: 0 });
  });
});
