import { createEventBus, orchestrationCommands, within } from '@waooaw/shared';
import {
  graphqlExecutor,
  pollFor,
  testKafka,
  testLogger,
  testNamespace,
  uniqueName,
} from '@waooaw/shared/testing';
import type { DeadLetter } from '../chaos';
import { countingCatalogue, startOwnMongo, steadyLoad, subgraphClient, watchDeadLetters } from '../chaos';
import {
  SECRET,
  startDiscovery,
  startOrchestration,
  startOrchestrationProcess,
  startRuntime,
} from '../platform';

/**
 * Issue 18's chaos drill in miniature, so a fault regression fails `npm test`: real processes are
 * frozen or killed under load, and afterwards every task that was accepted has finished exactly once,
 * and no valid message was dead-lettered.
 */

const pause = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

/** How long one cleanup step may take before the next one goes ahead anyway. */
const STEP_LIMIT_MS = 15_000;

/**
 * Stops what a suite started, last first, every one even when one fails or hangs (each gets
 * STEP_LIMIT_MS): the suite's own MongoDB, stopped last, is stopped whatever came before. Throws
 * what went wrong, naming the steps.
 */
function cleanups() {
  const steps: { what: string; step: () => Promise<unknown> }[] = [];
  return {
    add(what: string, step: () => Promise<unknown>) {
      steps.push({ what, step });
    },
    async run() {
      const errors: string[] = [];
      for (const { what, step } of steps.reverse())
        await within(step(), STEP_LIMIT_MS).catch((err: unknown) =>
          errors.push(`${what}: ${err instanceof Error ? err.message : String(err)}`),
        );
      steps.length = 0;
      if (errors.length > 0) throw new Error(`cleanup failed: ${errors.join('; ')}`);
    },
  };
}

/** A task as orchestration stored it (its own record, not events: see below). */
interface TaskView {
  id: string;
  status: string;
  error?: string | null;
  attempts: { outcome: string | null; error?: string | null }[];
}

/** What became of each attempt, for a failure's message: `TIMED_OUT (no result within 5000 ms), SUCCEEDED`. */
const attemptsOf = (t: TaskView | undefined) =>
  t ? t.attempts.map((a) => (a.error ? `${a.outcome} (${a.error})` : `${a.outcome}`)).join(', ') : '';

const FINAL = ['COMPLETED', 'FAILED', 'CANCELED', 'REJECTED'];

/**
 * Waits until orchestration has a final status for every task (or gives up: what is still open is
 * then reported as lost), and says what the fault did to them. Judged from orchestration's own
 * store and the runtime's own handlers: what was applied, not what was announced. Every list
 * should be empty; an entry says what became of the task's attempts.
 */
async function verdict(
  ids: string[],
  read: (ids: string[]) => Promise<TaskView[]>,
  completions: Map<string, number>,
  deadLetters: DeadLetter[],
  timeoutMs: number,
) {
  let tasks: TaskView[] = [];
  await pollFor(
    async () => {
      tasks = await read(ids);
      return tasks.length === ids.length && tasks.every((t) => FINAL.includes(t.status));
    },
    { what: 'every task to finish', timeoutMs, intervalMs: 250 },
  ).catch(() => undefined);
  const byId = new Map(tasks.map((t) => [t.id, t]));
  const succeeded = (t: TaskView) => t.attempts.filter((a) => a.outcome === 'SUCCEEDED').length;
  return {
    lost: ids
      .filter((id) => !FINAL.includes(byId.get(id)?.status ?? ''))
      .map((id) => `${id}: ${byId.get(id)?.status ?? 'never stored'} [${attemptsOf(byId.get(id))}]`),
    unsuccessful: tasks
      .filter((t) => FINAL.includes(t.status) && t.status !== 'COMPLETED')
      .map((t) => `${t.id}: ${t.status} ${t.error ?? ''}`),
    succeededNotOnce: tasks
      .filter((t) => t.status === 'COMPLETED' && succeeded(t) !== 1)
      .map((t) => `${t.id}: ${succeeded(t)} successful attempts`),
    // A handler that ran to completion twice applied its effects twice.
    handlerRanTwice: ids
      .filter((id) => (completions.get(id) ?? 0) > 1)
      .map((id) => `${id}: ${completions.get(id)} runs [${attemptsOf(byId.get(id))}]`),
    deadLettered: deadLetters.map((d) => `${d.group} ${d.topic} ${d.reason}: ${d.error.slice(0, 200)}`),
  };
}

const CLEAN = { lost: [], unsuccessful: [], succeededNotOnce: [], handlerRanTwice: [], deadLettered: [] };

/** Submits tasks over Kafka, as the bench and the marketplace do: a client that speaks Kafka. */
async function commandSender(namespace: string) {
  const bus = createEventBus({ ...testKafka(namespace), service: 'chaos-client', logger: testLogger() });
  await bus.connect();
  return {
    /** Resolves once the broker has them all (the platform has accepted them). */
    submit: async (tasks: { taskId: string; request: string }[]): Promise<void> => {
      await bus.publishAll(
        orchestrationCommands.submitTask,
        tasks.map(({ taskId, request }) => ({
          data: {
            taskId,
            actor: 'chaos-test',
            customerId: null,
            spec: { capability: 'tutoring.solve-problem', input: { request } },
          },
          options: { subject: taskId },
        })),
      );
    },
    close: () => bus.disconnect(),
  };
}

describe('MongoDB frozen, then killed, under a steady load of tasks', () => {
  // Topics of its own: no other test file's orchestration, discovery or runtime (a parallel jest
  // worker's) sees its agents or its tasks, or adds its traffic to what this one must catch up on.
  const namespace = testNamespace();
  // One prefix for every consumer group of this suite: its dead letters are told apart.
  const prefix = `${uniqueName('chaos')}.`;
  const done = cleanups();
  const counted = countingCatalogue();
  let mongo: Awaited<ReturnType<typeof startOwnMongo>>;
  let orchestration: Awaited<ReturnType<typeof startOrchestration>>;
  let submit: ReturnType<typeof graphqlExecutor>;
  let deadLetters: Awaited<ReturnType<typeof watchDeadLetters>>;

  beforeAll(async () => {
    mongo = await startOwnMongo();
    done.add('the own MongoDB', () => mongo.stop());
    const setup = { mongoUrl: mongo.url, consumerGroupPrefix: prefix, namespace };
    const discovery = await startDiscovery({}, setup);
    done.add('discovery', () => discovery.stop());
    orchestration = await startOrchestration({}, setup);
    done.add('orchestration', () => orchestration.stop());
    submit = graphqlExecutor(orchestration, SECRET, 'op-chaos');
    const hosted = await startRuntime({
      fleet: { handles: ['wow-math-mentor'], concurrency: 8, workMs: { min: 20, max: 60 } },
      catalogue: counted.catalogue,
      consumerGroupPrefix: prefix,
      namespace,
    });
    done.add('the agents runtime', () => hosted.stop());
    deadLetters = await watchDeadLetters([prefix], namespace);
    done.add('the dead-letter watcher', () => deadLetters.stop());
    await pollFor(
      () =>
        orchestration.replica
          .offering('tutoring.solve-problem', null)
          .some((v) => v.runtimeId === hosted.runtime.runtimeId),
      { what: 'orchestration to know the math tutor instance', timeoutMs: 30_000, intervalMs: 100 },
    );
  }, 120_000);
  afterAll(() => done.run(), 90_000);

  const read = async (ids: string[]): Promise<TaskView[]> =>
    (await orchestration.tasks.find({ _id: { $in: ids } }, { status: 1, error: 1, attempts: 1 }).lean()).map(
      (t) => ({ id: t._id, status: t.status, error: t.error, attempts: t.attempts }),
    );

  /**
   * 20 tasks a second through orchestration's submitTask, with `fault` injected once orchestration
   * is visibly working through them, and on until it has accepted 40 more after the fault; then
   * what happened to the tasks it accepted (a submission that failed while MongoDB was gone was
   * refused, not lost).
   */
  async function underLoad(scenario: string, fault: () => Promise<void>) {
    const lettersBefore = deadLetters.letters.length;
    const ids: string[] = [];
    const load = steadyLoad(20, async (i) => {
      const res = await submit<{ submitTask: { id: string } }>(
        `mutation($input: SubmitTaskInput!) { submitTask(input: $input) { id } }`,
        {
          input: {
            capability: 'tutoring.solve-problem',
            input: { request: `Solve ${i + 1}x = ${3 * i + 3}` },
          },
        },
      ).catch(() => null);
      const id = res?.data?.submitTask.id;
      if (id) ids.push(id);
    });
    try {
      await pollFor(async () => (await read(ids)).filter((t) => t.status === 'COMPLETED').length >= 20, {
        what: `the first ${scenario} tasks to complete`,
        timeoutMs: 20_000,
        intervalMs: 100,
      });
      await fault();
      const after = ids.length;
      await pollFor(() => ids.length >= after + 40, {
        what: `40 more ${scenario} tasks to be accepted after the fault`,
        timeoutMs: 30_000,
        intervalMs: 100,
      });
    } finally {
      await load.stop();
    }
    const outcome = await verdict(
      ids,
      read,
      counted.completions,
      deadLetters.letters.slice(lettersBefore),
      45_000,
    );
    // Every task is final: no attempt may still count against the instance's concurrency (a slot
    // kept by an attempt whose end orchestration learned only by reading would stay taken for good).
    const idle = await pollFor(() => orchestration.engine.memory().instances === 0, {
      what: 'no attempt to be counted against any instance',
      timeoutMs: 10_000,
    }).then(
      () => true,
      () => false,
    );
    // What the engine holds and what it believes of the instances, to tell a leaked slot from an
    // instance it no longer sees (the failure message prints it).
    const offering = orchestration.replica
      .offering('tutoring.solve-problem', null)
      .map((v) => `${v.instanceId} ${v.health} ${v.circuit} concurrency ${v.concurrency}`);
    const memory = JSON.stringify(orchestration.engine.memory());
    return {
      ...outcome,
      slotsStillCounted: idle ? [] : [`engine ${memory}; instances: ${offering.join(', ') || 'none'}`],
    };
  }

  it('loses nothing, repeats nothing and dead-letters nothing while MongoDB is frozen for 9 s', async () => {
    const outcome = await underLoad('frozen', async () => {
      mongo.freeze();
      // The fault itself: 9 s with every MongoDB connection open and silent.
      await pause(9_000);
      mongo.thaw();
    });
    expect(outcome).toEqual({ ...CLEAN, slotsStillCounted: [] });
  }, 90_000);

  // Issue 18 point 1's regression test: consumers used to dead-letter valid results and events
  // after five quick retries against a MongoDB that was gone (and re-ran the tasks whose results
  // they dropped, once their attempts timed out); they must wait the outage out instead.
  it('loses nothing, repeats nothing and dead-letters nothing while MongoDB is killed and restarted', async () => {
    const outcome = await underLoad('killed', async () => {
      await mongo.kill();
      // The fault itself: 8 s without a MongoDB (longer than a consumer's five quick retries).
      await pause(8_000);
      await mongo.restart();
    });
    expect(outcome).toEqual({ ...CLEAN, slotsStillCounted: [] });
  }, 150_000);
});

interface WorkflowView {
  status: string;
  nodes: { id: string; status: string; task: TaskView | null }[];
}

interface SagaView {
  state: string;
  steps: { name: string; state: string; action: TaskView | null; compensation: TaskView | null }[];
}

const TASK_FIELDS = 'id status error attempts { outcome }';

describe('orchestration killed with SIGKILL mid-workflow and mid-saga, then started again', () => {
  const namespace = testNamespace();
  const prefix = `${uniqueName('chaos')}.`;
  const runId = uniqueName('chaos-orch');
  const done = cleanups();
  const counted = countingCatalogue();
  let orchestration: Awaited<ReturnType<typeof startOrchestrationProcess>>;
  let client: Awaited<ReturnType<typeof commandSender>>;
  let deadLetters: Awaited<ReturnType<typeof watchDeadLetters>>;
  let gql: ReturnType<typeof subgraphClient>;

  beforeAll(async () => {
    const discovery = await startDiscovery({}, { consumerGroupPrefix: prefix, namespace });
    done.add('discovery', () => discovery.stop());
    orchestration = await startOrchestrationProcess({}, namespace);
    done.add('orchestration', () => orchestration.stop());
    gql = subgraphClient(orchestration.url, 'orchestration');
    const hosted = await startRuntime({
      fleet: {
        handles: ['wow-math-mentor', 'wow-care-content', 'wow-notification'],
        concurrency: 2,
        workMs: { min: 400, max: 400 },
      },
      catalogue: counted.catalogue,
      consumerGroupPrefix: prefix,
      namespace,
    });
    done.add('the agents runtime', () => hosted.stop());
    client = await commandSender(namespace);
    done.add('the Kafka client', () => client.close());
    deadLetters = await watchDeadLetters([prefix, orchestration.groupPrefix], namespace);
    done.add('the dead-letter watcher', () => deadLetters.stop());
  }, 120_000);
  afterAll(() => done.run(), 90_000);

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
    await client.submit(outage.map((taskId, i) => ({ taskId, request: `Solve ${i + 2}x = ${2 * i + 4}` })));
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
    // On a failure, show every node and step with its task's attempts.
    expect({ status: finishedWorkflow.status, nodes: finishedWorkflow.nodes }).toMatchObject({
      status: 'COMPLETED',
      nodes: nodes.map((n) => ({ id: n.id, status: 'COMPLETED', task: { status: 'COMPLETED' } })),
    });
    expect({ state: finishedSaga.state, steps: finishedSaga.steps }).toMatchObject({
      state: 'COMPLETED',
      steps: steps.map((s) => ({ name: s.name, state: 'COMPLETED', compensation: null })),
    });
    const ran = [
      ...finishedWorkflow.nodes.map((n) => n.task!.id),
      ...finishedSaga.steps.map((step) => step.action!.id),
    ];
    const read = async (ids: string[]) =>
      (await Promise.all(ids.map((id) => task(id)))).filter((t): t is TaskView => t !== null);
    expect(
      await verdict([...ran, ...outage], read, counted.completions, deadLetters.letters, 30_000),
    ).toEqual(CLEAN);
  }, 150_000);
});
