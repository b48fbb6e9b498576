import type { EventData, InstanceView, TaskOutput } from '@waooaw/shared';
import { agentsMessages, discoveryEvents, on, orchestrationEvents, taskAssignedTo } from '@waooaw/shared';
import {
  graphqlExecutor,
  pollFor,
  startTestService,
  TEST_CALLER_SECRET,
  testConfig,
  uniqueName,
} from '@waooaw/shared/testing';
import type { OrchestrationDeps } from '../server';
import { createServer, environmentSchema } from '../server';

export type Assignment = EventData<ReturnType<typeof taskAssignedTo>>;
/** What a scripted instance answers to an attempt: a result, or nothing (silence). */
export type Script = (
  a: Assignment,
) => { outcome: 'SUCCEEDED'; output: TaskOutput } | { outcome: 'FAILED' | 'REJECTED'; error: string } | null;

export const deliverable = (title: string, content = `# ${title}\n\nDone.\n\n## Result\n`): TaskOutput => ({
  format: 'text/markdown',
  title,
  content,
  summary: `${title} (done)`,
});

/** What the scripted runtime answers until a test says otherwise: success, naming the task. */
export const succeeding: Script = (a) => ({
  outcome: 'SUCCEEDED',
  output: deliverable(`${a.capability} for ${a.taskId}`),
});

export const TEST_CONFIG: OrchestrationDeps['config'] = testConfig(environmentSchema, {
  ORCHESTRATION_TICK_MS: '50',
  ORCHESTRATION_RECONCILE_MS: '300',
  TASK_RETRY_INITIAL_MS: '20',
  TASK_RETRY_MAX_MS: '100',
  TASK_DEFAULT_TIMEOUT_MS: '5000',
});

/**
 * Orchestration on the real servers with a scripted runtime: the test decides what each attempt
 * answers, so retries, timeouts and duplicates are exercised exactly.
 */
export async function startOrchestration(options: { config?: Partial<OrchestrationDeps['config']> } = {}) {
  const config = { ...TEST_CONFIG, ...options.config };
  const t = await startTestService({
    name: 'orchestration',
    collect: [orchestrationEvents.taskUpdated.topic, orchestrationEvents.attemptFinished.topic],
    // The registry need not replay the broker's history of instances (other tests, the bench): the
    // test announces its own once the consumers have joined.
    fromBeginning: false,
    create: (deps) => createServer({ ...deps, config }),
  });
  const { outside, prefix } = t;
  const runtimeId = uniqueName('rt-script');
  const received: Assignment[] = [];
  let script: Script = succeeding;
  // The scripted runtime's inbox, on the outside bus (which stops it when the harness stops).
  const inbox = outside.consumer({
    groupId: `${prefix}runtime`,
    handlers: [
      on(taskAssignedTo(runtimeId), async (a) => {
        received.push(a);
        const answer = script(a);
        if (!answer) return;
        await outside.publish(
          agentsMessages.taskResult,
          {
            taskId: a.taskId,
            attempt: a.attempt,
            instanceId: a.instanceId,
            runtimeId,
            durationMs: 12,
            ...answer,
          },
          { subject: a.taskId },
        );
      }),
    ],
  });
  await inbox.start();
  await inbox.joined();

  /** An instance of the scripted runtime offering `capabilities` (not announced yet). */
  function instanceView(capabilities: string[], overrides: Partial<InstanceView> = {}): InstanceView {
    return {
      instanceId: uniqueName(`${runtimeId}:i`),
      agentId: `agent-${uniqueName('a')}`,
      handle: 'wow-scripted',
      agentVersion: '1.0.0',
      runtimeId,
      inbox: `agents.inbox.${runtimeId}`,
      tier: 'STANDARD',
      weight: 1,
      concurrency: 4,
      capabilities: capabilities.map((name) => ({ name, version: '1.0.0' })),
      health: 'HEALTHY',
      circuit: 'CLOSED',
      inFlight: 0,
      ...overrides,
    };
  }

  /** Publishes an instance's change as discovery would. */
  async function announce(
    view: InstanceView,
    change: 'REGISTERED' | 'UPDATED' | 'DEREGISTERED' | 'REMOVED' = 'REGISTERED',
  ) {
    await outside.publish(
      discoveryEvents.instanceChanged,
      { change, instance: view, at: new Date().toISOString() },
      { subject: view.instanceId },
    );
  }

  /** Tells orchestration (as discovery would) that an instance of the scripted runtime is available. */
  async function instance(capabilities: string[], overrides: Partial<InstanceView> = {}) {
    const view = instanceView(capabilities, overrides);
    await announce(view);
    await pollFor(() => t.server.replica.get(view.instanceId)?.health === view.health, {
      what: 'orchestration to learn the instance',
    });
    return view;
  }

  const h = {
    db: t.db,
    runtimeId,
    received,
    outside,
    get server() {
      return t.server;
    },
    prefix,
    instance,
    instanceView,
    announce,
    script(next: Script) {
      script = next;
    },
    exec: (
      query: string,
      variables: Record<string, unknown> = {},
      roles: Parameters<ReturnType<typeof graphqlExecutor>>[2] = ['operator'],
    ) => graphqlExecutor(t.server, TEST_CALLER_SECRET, 'op-orch')(query, variables, roles),
    execAs: (sub: string) => graphqlExecutor(t.server, TEST_CALLER_SECRET, sub),
    eventsOf: t.events,
    /** Stops orchestration and starts a fresh one on the same database (a restart). */
    restart: () => t.restart(),
    /**
     * Starts one more orchestration process beside the current one (same database, same group
     * prefix: a rolling restart's new process); the test stops it (`server.service.stop()`).
     */
    async startAnother() {
      const started = await t.another();
      return {
        server: started,
        exec: (query: string, variables: Record<string, unknown> = {}) =>
          graphqlExecutor(started, TEST_CALLER_SECRET, 'op-orch')(query, variables, ['operator']),
      };
    },
    /** Stops the current process; `next` (from startAnother) becomes the current one (`server`, `exec`). */
    handOver: (next: (typeof t)['server']) => t.handOver(next),
    stop: () => t.stop(),
  };
  return h;
}

export type Harness = Awaited<ReturnType<typeof startOrchestration>>;

/** A capability name no other test offers (a fresh pool of instances and tasks). */
export const uniqueCapability = () =>
  `test.${uniqueName('cap')
    .toLowerCase()
    .replace(/[^a-z0-9-]/g, '')}`;

/** Answers an attempt with success, as the scripted runtime would (for attempts it left running). */
export const answerSucceeded = (o: Harness, a: Assignment) =>
  o.outside.publish(
    agentsMessages.taskResult,
    {
      taskId: a.taskId,
      attempt: a.attempt,
      instanceId: a.instanceId,
      runtimeId: o.runtimeId,
      outcome: 'SUCCEEDED',
      output: deliverable(`done ${a.taskId}`),
      durationMs: 5,
    },
    { subject: a.taskId },
  );

export const TASK_FIELDS = `id capability status priority error attempts { number outcome error instance { id } }
  output { title summary content } retryPolicy { maxAttempts jitter }`;
