import { pollFor, testInfra, uniqueName } from '@waooaw/shared/testing';
import type { BenchKafka, BenchListeners } from '../../../bench/src/kafka';
import { createBenchKafka } from '../../../bench/src/kafka';
import type { Measurement } from '../../../bench/src/tracker';
import { TaskTracker } from '../../../bench/src/tracker';
import type { DeadLetter } from '../chaos';
import { countingCatalogue, startOwnMongo, steadily, subgraphClient, watchDeadLetters } from '../chaos';
import { startDiscovery, startOrchestration, startOrchestrationProcess, startRuntime } from '../platform';

/**
 * Issue 18's chaos drill in miniature, so a fault regression fails `npm test`: real processes are
 * frozen or killed under load, and afterwards every task that was accepted has finished exactly once,
 * and no valid message was dead-lettered.
 */

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** Stops what a suite started, last first, every one even when one fails; rethrows the first error. */
function cleanups() {
  const steps: (() => Promise<unknown>)[] = [];
  return {
    add(step: () => Promise<unknown>) {
      steps.push(step);
    },
    async run() {
      const errors: unknown[] = [];
      for (const step of steps.reverse()) await step().catch((err: unknown) => errors.push(err));
      steps.length = 0;
      if (errors.length > 0) throw errors[0];
    },
  };
}

/** Who submitted what, and how it ended, from the events the platform published. */
function trackTasks() {
  const tracker = new TaskTracker();
  /** Why each task that ended otherwise than COMPLETED ended so (for the failure message). */
  const unsuccessful = new Map<string, string>();
  const listeners: BenchListeners = {
    onTaskUpdated(eventId, update, at) {
      if (['FAILED', 'CANCELED', 'REJECTED'].includes(update.status))
        unsuccessful.set(update.taskId, `${update.status} after ${update.attempts} attempts: ${update.error}`);
      tracker.onTaskUpdated(eventId, update, at);
    },
    onAttemptFinished: (eventId, attempt) => tracker.onAttemptFinished(eventId, attempt),
  };
  return { tracker, unsuccessful, listeners };
}

/** What a fault did to the tasks accepted around it: every count should be 0 (or empty). */
function verdict(
  m: Measurement,
  ids: string[],
  tasks: ReturnType<typeof trackTasks>,
  completions: Map<string, number>,
  deadLetters: DeadLetter[],
) {
  return {
    refused: m.refused,
    lost: m.lost,
    failed: ids.filter((id) => tasks.unsuccessful.has(id)).map((id) => `${id}: ${tasks.unsuccessful.get(id)}`),
    duplicates: m.duplicates,
    // A handler that ran to completion twice applied its effects twice; none at all is a loss.
    handlerRunsNotOnce: ids
      .filter((id) => completions.get(id) !== 1)
      .map((id) => `${id}: ${completions.get(id) ?? 0}`),
    deadLettered: deadLetters.map((d) => `${d.group} ${d.topic} ${d.reason}: ${d.error.slice(0, 200)}`),
  };
}

const CLEAN = { refused: 0, lost: 0, failed: [], duplicates: 0, handlerRunsNotOnce: [], deadLettered: [] };

describe('MongoDB frozen, then killed, under a steady load of tasks submitted over Kafka', () => {
  // One prefix for every consumer group of this suite: its dead letters are told from other files'.
  const prefix = `${uniqueName('chaos')}.`;
  const runId = uniqueName('chaos-mongo');
  const done = cleanups();
  const tasks = trackTasks();
  const { tracker } = tasks;
  const counted = countingCatalogue();
  let mongo: Awaited<ReturnType<typeof startOwnMongo>>;
  let orchestration: Awaited<ReturnType<typeof startOrchestration>>;
  let kafka: BenchKafka;
  let deadLetters: Awaited<ReturnType<typeof watchDeadLetters>>;

  beforeAll(async () => {
    mongo = await startOwnMongo();
    done.add(() => mongo.stop());
    const setup = { mongoUrl: mongo.url, consumerGroupPrefix: prefix };
    const discovery = await startDiscovery({}, setup);
    done.add(() => discovery.stop());
    orchestration = await startOrchestration({}, setup);
    done.add(() => orchestration.stop());
    const hosted = await startRuntime({
      fleet: { handles: ['wow-math-mentor'], concurrency: 8, workMs: { min: 20, max: 60 } },
      catalogue: counted.catalogue,
      consumerGroupPrefix: prefix,
    });
    done.add(() => hosted.stop());
    kafka = await createBenchKafka(testInfra().brokers, runId, tasks.listeners);
    done.add(() => kafka.close());
    deadLetters = await watchDeadLetters([prefix]);
    done.add(() => deadLetters.stop());
    await pollFor(
      () =>
        orchestration.replica
          .offering('tutoring.solve-problem', null)
          .some((v) => v.runtimeId === hosted.runtime.runtimeId),
      { what: 'orchestration to know the math tutor instance', timeoutMs: 30_000, intervalMs: 100 },
    );
  }, 120_000);
  afterAll(() => done.run(), 60_000);

  /**
   * 20 tasks a second for 13 s over Kafka (as the bench and the marketplace submit them), with
   * `fault` injected once the platform is visibly working through them; then waits until every
   * accepted task has a final status (or the drain gives up) and returns what the fault did.
   */
  async function underLoad(scenario: string, fault: () => Promise<void>) {
    const lettersBefore = deadLetters.letters.length;
    const ids = Array.from({ length: 260 }, (_, i) => `${runId}-${scenario}-${i}`);
    const load = steadily(ids.length, 20, async (i) => {
      const taskId = ids[i]!;
      tracker.submitted(taskId, scenario, 'kafka', performance.now());
      try {
        await kafka.submit([
          {
            taskId,
            spec: { capability: 'tutoring.solve-problem', input: { request: `Solve ${i + 1}x = ${3 * i + 3}` } },
          },
        ]);
        tracker.accepted(taskId);
      } catch {
        tracker.refused(taskId);
      }
    });
    await pollFor(() => tracker.finished(scenario) >= 20, {
      what: `the first ${scenario} tasks to finish`,
      timeoutMs: 20_000,
    });
    await fault();
    await load;
    // A drain that gives up is reported below as lost tasks, with the rest of the verdict.
    await pollFor(() => tracker.pending(scenario) === 0, {
      what: `every ${scenario} task to finish`,
      timeoutMs: 45_000,
      intervalMs: 200,
    }).catch(() => undefined);
    return verdict(
      tracker.measure(scenario, () => undefined),
      ids,
      tasks,
      counted.completions,
      deadLetters.letters.slice(lettersBefore),
    );
  }

  it('loses nothing, repeats nothing and dead-letters nothing while MongoDB is frozen for 9 s', async () => {
    const outcome = await underLoad('frozen', async () => {
      mongo.freeze();
      // The fault itself: 9 s with every MongoDB connection open and silent.
      await pause(9_000);
      mongo.thaw();
    });
    expect(outcome).toEqual(CLEAN);
  }, 90_000);

  it('loses nothing, repeats nothing and dead-letters nothing while MongoDB is killed and restarted', async () => {
    const outcome = await underLoad('killed', async () => {
      await mongo.kill();
      // The fault itself: 8 s without a MongoDB (longer than a consumer's five quick retries).
      await pause(8_000);
      await mongo.restart();
    });
    expect(outcome).toEqual(CLEAN);
  }, 120_000);
});

interface TaskView {
  id: string;
  status: string;
  attempts: { outcome: string | null }[];
}

interface WorkflowView {
  status: string;
  nodes: { id: string; status: string; task: TaskView | null }[];
}

interface SagaView {
  state: string;
  steps: { name: string; state: string; action: TaskView | null; compensation: TaskView | null }[];
}

const TASK_FIELDS = 'id status attempts { outcome }';

describe('orchestration killed with SIGKILL mid-workflow and mid-saga, then started again', () => {
  const prefix = `${uniqueName('chaos')}.`;
  const runId = uniqueName('chaos-orch');
  const done = cleanups();
  const tracked = trackTasks();
  const { tracker } = tracked;
  const counted = countingCatalogue();
  let orchestration: Awaited<ReturnType<typeof startOrchestrationProcess>>;
  let kafka: BenchKafka;
  let deadLetters: Awaited<ReturnType<typeof watchDeadLetters>>;
  let gql: ReturnType<typeof subgraphClient>;

  beforeAll(async () => {
    const discovery = await startDiscovery({}, { consumerGroupPrefix: prefix });
    done.add(() => discovery.stop());
    orchestration = await startOrchestrationProcess();
    done.add(() => orchestration.stop());
    gql = subgraphClient(orchestration.url, 'orchestration');
    const hosted = await startRuntime({
      fleet: {
        handles: ['wow-math-mentor', 'wow-care-content', 'wow-notification'],
        concurrency: 2,
        workMs: { min: 400, max: 400 },
      },
      catalogue: counted.catalogue,
      consumerGroupPrefix: prefix,
    });
    done.add(() => hosted.stop());
    kafka = await createBenchKafka(testInfra().brokers, runId, tracked.listeners);
    done.add(() => kafka.close());
    deadLetters = await watchDeadLetters([prefix, orchestration.groupPrefix]);
    done.add(() => deadLetters.stop());
  }, 120_000);
  afterAll(() => done.run(), 60_000);

  const task = async (id: string) =>
    (await gql<{ task: TaskView | null }>(`query($id: ID!) { task(id: $id) { ${TASK_FIELDS} } }`, { id }))
      .data?.task ?? null;

  /** The process knows an agent for `capability` once a probe task of it completes (not REJECTED). */
  const knows = (capability: string) =>
    pollFor(
      async () => {
        const res = await gql<{ submitTask: { id: string } }>(
          `mutation($input: SubmitTaskInput!) { submitTask(input: $input) { id } }`,
          { input: { capability, input: { request: 'A probe: solve x + 1 = 2' } } },
        );
        const id = res.data?.submitTask.id;
        if (!id) return false;
        const status = await pollFor(
          async () => {
            const s = (await task(id))?.status;
            return s === 'COMPLETED' || s === 'REJECTED' ? s : undefined;
          },
          { what: `the ${capability} probe`, timeoutMs: 10_000 },
        );
        return status === 'COMPLETED';
      },
      { what: `orchestration to run ${capability}`, timeoutMs: 60_000 },
    );

  it('completes the workflow, the saga and the tasks submitted while it was down, each once', async () => {
    for (const capability of ['tutoring.solve-problem', 'content.plan-calendar', 'notification.send'])
      await knows(capability);

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
      { id: 'check', capability: 'tutoring.solve-problem', input: ask('Solve 3x - 9 = 0'), dependsOn: ['solve'] },
      {
        id: 'outline',
        capability: 'content.plan-calendar',
        input: ask('A follow-up calendar'),
        dependsOn: ['article', 'check'],
      },
      { id: 'notify', capability: 'notification.send', input: ask('The pack is ready'), dependsOn: ['outline'] },
    ].map((n) => ({ ...n, timeoutMs: 60_000 }));
    const submitted = await gql<{ submitWorkflow: { id: string } }>(
      `mutation($input: SubmitWorkflowInput!) { submitWorkflow(input: $input) { id } }`,
      { input: { name: 'chaos drill', nodes } },
    );
    expect(submitted.errors).toBeUndefined();
    const workflowId = submitted.data!.submitWorkflow.id;
    const steps = [
      { name: 'reserve', capability: 'tutoring.solve-problem', request: 'Solve 5x = 25' },
      { name: 'schedule', capability: 'content.plan-calendar', request: 'A week of lessons' },
      { name: 'announce', capability: 'notification.send', request: 'Lessons are booked' },
    ].map((s) => ({
      name: s.name,
      action: { capability: s.capability, input: ask(s.request), timeoutMs: 60_000 },
      compensation: { capability: 'notification.send', input: ask(`Undo ${s.name}`), timeoutMs: 60_000 },
    }));
    const saga = await gql<{ submitSaga: { id: string } }>(
      `mutation($input: SubmitSagaInput!) { submitSaga(input: $input) { id } }`,
      { input: { name: 'chaos saga', steps } },
    );
    expect(saga.errors).toBeUndefined();
    const sagaId = saga.data!.submitSaga.id;

    const workflow = async () =>
      (
        await gql<{ workflow: WorkflowView | null }>(
          `query($id: ID!) { workflow(id: $id) { status nodes { id status task { ${TASK_FIELDS} } } } }`,
          { id: workflowId },
        )
      ).data?.workflow ?? null;
    const sagaView = async () =>
      (
        await gql<{ saga: SagaView | null }>(
          `query($id: ID!) { saga(id: $id) { state steps { name state action { ${TASK_FIELDS} } compensation { ${TASK_FIELDS} } } } }`,
          { id: sagaId },
        )
      ).data?.saga ?? null;

    // Killed once the first step of each is done and the rest is queued or running.
    await pollFor(
      async () => {
        const [wf, sg] = [await workflow(), await sagaView()];
        return (
          wf?.nodes.some((n) => n.status === 'COMPLETED') &&
          wf.nodes.some((n) => n.status !== 'COMPLETED') &&
          sg?.steps[0]?.state === 'COMPLETED' &&
          sg.steps.some((s) => s.state !== 'COMPLETED')
        );
      },
      { what: 'the workflow and the saga to be part-way', timeoutMs: 30_000, intervalMs: 50 },
    );
    await orchestration.kill();

    // Tasks submitted while no orchestration runs wait in Kafka for the next one.
    const outage = Array.from({ length: 10 }, (_, i) => `${runId}-outage-${i}`);
    for (const id of outage) tracker.submitted(id, 'outage', 'kafka', performance.now());
    await kafka.submit(
      outage.map((taskId, i) => ({
        taskId,
        spec: { capability: 'tutoring.solve-problem', input: ask(`Solve ${i + 2}x = ${2 * i + 4}`) },
      })),
    );
    for (const id of outage) tracker.accepted(id);
    await orchestration.restart();

    const finishedWorkflow = await pollFor(
      async () => {
        const wf = await workflow();
        return wf !== null && wf.status !== 'RUNNING' ? wf : undefined;
      },
      { what: 'the workflow to finish after the restart', timeoutMs: 60_000 },
    );
    const finishedSaga = await pollFor(
      async () => {
        const sg = await sagaView();
        return sg !== null && sg.state !== 'RUNNING' ? sg : undefined;
      },
      { what: 'the saga to finish after the restart', timeoutMs: 60_000 },
    );
    await pollFor(() => tracker.pending('outage') === 0, {
      what: 'the tasks submitted during the outage to finish',
      timeoutMs: 30_000,
    }).catch(() => undefined);

    // On a failure, show every node and step with its task's attempts.
    expect({ status: finishedWorkflow.status, nodes: finishedWorkflow.nodes }).toMatchObject({
      status: 'COMPLETED',
      nodes: nodes.map((n) => ({ id: n.id, status: 'COMPLETED', task: { status: 'COMPLETED' } })),
    });
    expect({ state: finishedSaga.state, steps: finishedSaga.steps }).toMatchObject({
      state: 'COMPLETED',
      steps: steps.map((s) => ({ name: s.name, state: 'COMPLETED', compensation: null })),
    });
    const tasks = [
      ...finishedWorkflow.nodes.map((n) => n.task!),
      ...finishedSaga.steps.map((s) => s.action!),
    ];
    const succeededOnce = (t: TaskView) => t.attempts.filter((a) => a.outcome === 'SUCCEEDED').length === 1;
    expect(tasks.filter((t) => !succeededOnce(t))).toEqual([]);
    expect(
      verdict(
        tracker.measure('outage', () => undefined),
        [...tasks.map((t) => t.id), ...outage],
        tracked,
        counted.completions,
        deadLetters.letters,
      ),
    ).toEqual(CLEAN);
  }, 150_000);
});
