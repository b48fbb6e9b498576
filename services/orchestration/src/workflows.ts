import { randomUUID } from 'node:crypto';
import type { mongo } from 'mongoose';
import { z } from 'zod';
import type {
  Caller,
  EventBus,
  Logger,
  OutboxEntry,
  OutboxRelay,
  RevisionChange,
  Role,
} from '@waooaw/shared';
import {
  badUserInput,
  ErrorCode,
  InputLimits,
  orchestrationEvents,
  outboxClaim,
  outboxEntry,
  parseInput,
  PlatformError,
  updateWithRevision,
} from '@waooaw/shared';
import type { NodeState } from './domain';
import { describeDagProblem, onNodeFailed, readyNodes, validateDag, workflowOutcome } from './domain';
import type { TaskEngine } from './engine';
import type { TaskModel, TaskRecord } from './models/task';
import type { WorkflowModel, WorkflowNodeRecord, WorkflowRecord } from './models/workflow';
import type { InstanceReplica } from './replica';
import type { SubmissionDefaults } from './submission';
import { assertTaskInputs, buildTask } from './submission';

const workflowInput = z.object({
  name: z.string().trim().min(1, 'name the workflow').max(InputLimits.nameChars),
  failurePolicy: z.enum(['FAIL_FAST', 'CONTINUE']).nullish(),
  nodes: z
    .array(
      z
        .object({
          id: z
            .string()
            .regex(/^[A-Za-z0-9_-]{1,64}$/, 'use letters, digits, dash or underscore (at most 64)'),
          capability: z.string(),
          dependsOn: z.array(z.string()).nullish(),
        })
        .passthrough(),
    )
    .min(1, 'a workflow needs at least one node')
    .max(200, 'at most 200 nodes'),
});

const nodeTaskId = (workflowId: string, nodeId: string) => `${workflowId}.${nodeId}`;

/**
 * DAG workflows over the task engine: ready nodes become tasks (in parallel), each node's input gets
 * its parents' outputs under `parents`, and a failure cancels (FAIL_FAST) or skips (CONTINUE) what
 * depends on it. Node tasks have fixed ids, so advancing twice (or again after a crash) never runs a
 * node twice; `reconcile` advances every running workflow after a restart.
 */
export function createWorkflowEngine(deps: {
  workflows: WorkflowModel;
  tasks: TaskModel;
  engine: TaskEngine;
  replica: InstanceReplica;
  bus: Pick<EventBus, 'source'>;
  relay?: OutboxRelay;
  logger: Logger;
  defaults: SubmissionDefaults;
  now?: () => number;
}) {
  const { workflows, tasks, engine } = deps;
  const clock = deps.now ?? Date.now;

  const event = (wf: WorkflowRecord, node: WorkflowNodeRecord | null, at: number): OutboxEntry =>
    outboxEntry(
      deps.bus,
      orchestrationEvents.workflowUpdated,
      {
        workflowId: wf._id,
        status: wf.status,
        nodeId: node?.id ?? null,
        nodeStatus: node?.status ?? null,
        customerId: wf.customerId,
        at: new Date(at).toISOString(),
      },
      { subject: wf._id },
    );

  /**
   * The update that stores `next`'s state with its events; they are claimed, since this process
   * publishes them right after the write (publishWritten).
   */
  const stateUpdate = (
    next: WorkflowRecord,
    events: OutboxEntry[],
    now: number,
  ): mongo.UpdateFilter<WorkflowRecord> => ({
    $set: {
      nodes: next.nodes,
      status: next.status,
      updatedAt: next.updatedAt,
      completedAt: next.completedAt,
      ...(events.length > 0 ? { outboxLockedUntil: outboxClaim(now) } : {}),
    },
    $push: { outbox: { $each: events } },
  });

  const callerOf = (wf: WorkflowRecord): Caller => ({ sub: wf.submittedBy, roles: wf.roles as Role[] });

  const taskState = (t: Pick<TaskRecord, 'status'> | undefined): NodeState | null => {
    if (!t) return null;
    if (t.status === 'COMPLETED') return 'COMPLETED';
    if (t.status === 'FAILED' || t.status === 'REJECTED') return 'FAILED';
    if (t.status === 'CANCELED') return 'CANCELED';
    return null;
  };

  /**
   * What one pass changes in a workflow (null: nothing): syncs running nodes with their tasks,
   * applies failures, and starts the tasks of the nodes that became ready.
   */
  async function pass(
    wf: WorkflowRecord,
  ): Promise<RevisionChange<
    WorkflowRecord,
    { next: WorkflowRecord; events: OutboxEntry[]; toCancel: string[] }
  > | null> {
    if (wf.status !== 'RUNNING') return null;
    const now = clock();
    const graph = wf.nodes.map((n) => ({ id: n.id, dependsOn: n.dependsOn }));
    // Only running nodes can have changed: read their tasks' statuses, not every node's whole task
    // (outputs can be large, and a pass runs each time a node finishes).
    const runningTaskIds = wf.nodes
      .filter((n) => n.status === 'RUNNING' && n.taskId !== null)
      .map((n) => n.taskId!);
    const byId = new Map<string, Pick<TaskRecord, '_id' | 'status'>>(
      runningTaskIds.length === 0
        ? []
        : (
            await tasks
              .find({ _id: { $in: runningTaskIds } }, { _id: 1, status: 1 })
              .lean<Pick<TaskRecord, '_id' | 'status'>[]>()
          ).map((t) => [t._id, t] as const),
    );
    let states: Record<string, NodeState> = Object.fromEntries(wf.nodes.map((n) => [n.id, n.status]));
    const toCancel: string[] = [];
    for (const node of wf.nodes) {
      if (node.status !== 'RUNNING' || !node.taskId) continue;
      const state = taskState(byId.get(node.taskId));
      if (!state) continue;
      if (state === 'FAILED') {
        const outcome = onNodeFailed(graph, states, node.id, wf.failurePolicy);
        states = outcome.states;
        toCancel.push(...outcome.runningToCancel);
      } else states[node.id] = state;
    }
    const started: TaskRecord[] = [];
    const taskIdOf: Record<string, string> = {};
    const ready = readyNodes(graph, states).map((nodeId) => wf.nodes.find((n) => n.id === nodeId)!);
    // The outputs of the parents of what starts now, each read once.
    const parentTaskIds = [
      ...new Set(
        ready.flatMap((node) =>
          node.dependsOn.map((p) => wf.nodes.find((n) => n.id === p)!.taskId).filter((t): t is string => !!t),
        ),
      ),
    ];
    const outputOf = new Map<string, TaskRecord['output']>(
      parentTaskIds.length === 0
        ? []
        : (
            await tasks
              .find({ _id: { $in: parentTaskIds } }, { _id: 1, output: 1 })
              .lean<Pick<TaskRecord, '_id' | 'output'>[]>()
          ).map((t) => [t._id, t.output] as const),
    );
    for (const node of ready) {
      const parents = Object.fromEntries(
        node.dependsOn.map((p) => {
          const parent = wf.nodes.find((n) => n.id === p)!;
          return [p, outputOf.get(parent.taskId ?? '') ?? null];
        }),
      );
      const spec = node.spec as { input?: unknown };
      const base =
        typeof spec.input === 'object' && spec.input !== null ? spec.input : { value: spec.input ?? null };
      const task = buildTask(
        { ...node.spec, input: { ...base, parents } },
        callerOf(wf),
        { replica: deps.replica, defaults: deps.defaults, now },
        {
          id: nodeTaskId(wf._id, node.id),
          workflowId: wf._id,
          workflowNodeId: node.id,
          customerId: wf.customerId,
        },
        `nodes.${node.id}`,
      );
      started.push(task);
      taskIdOf[node.id] = task._id;
      states[node.id] = 'RUNNING';
    }
    const outcome = workflowOutcome(states);
    const nodes = wf.nodes.map((n) => ({
      ...n,
      status: states[n.id]!,
      taskId: taskIdOf[n.id] ?? n.taskId,
    }));
    const next: WorkflowRecord = {
      ...wf,
      nodes,
      status: outcome ?? 'RUNNING',
      updatedAt: new Date(now),
      completedAt: outcome ? new Date(now) : null,
    };
    const changed = nodes.filter((n, i) => n.status !== wf.nodes[i]!.status);
    if (changed.length === 0 && next.status === wf.status) return null;
    // Tasks first (fixed ids): if the write below loses a race or the process dies, the next pass
    // finds them instead of starting new ones.
    for (const task of started) await engine.acceptOnce(task);
    const events = [
      ...changed.map((n) => event(next, n, now)),
      ...(next.status !== wf.status ? [event(next, null, now)] : []),
    ];
    return { update: stateUpdate(next, events, now), value: { next, events, toCancel } };
  }

  /** One pass, written if the workflow did not change meanwhile (else decided again on what it is now). */
  async function advance(id: string): Promise<WorkflowRecord | null> {
    const outcome = await updateWithRevision(workflows, id, pass, {
      conflictMessage: `Workflow ${id} kept changing concurrently; it will be advanced again`,
    });
    if (!outcome.written) return outcome.current;
    const { next, events, toCancel } = outcome.value;
    deps.relay?.publishWritten(workflows, id, events);
    for (const nodeId of toCancel) {
      const taskId = next.nodes.find((n) => n.id === nodeId)?.taskId;
      if (taskId) await engine.cancel(taskId, `workflow ${id}: another node failed (fail-fast)`);
    }
    return { ...next, rev: outcome.current.rev + 1 };
  }

  return {
    advance,

    async submit(input: unknown, who: Caller): Promise<WorkflowRecord> {
      const parsed = parseInput(workflowInput, input, 'input');
      assertTaskInputs(
        parsed.nodes.map((n, i) => ({ field: `input.nodes.${i}.input`, input: n.input })),
        'input.nodes',
      );
      const nodes = parsed.nodes.map((n) => ({ id: n.id, dependsOn: n.dependsOn ?? [] }));
      const problem = validateDag(nodes);
      if (problem?.kind === 'CYCLE')
        throw new PlatformError(ErrorCode.WORKFLOW_CYCLE, describeDagProblem(problem), {
          path: problem.path,
        });
      if (problem) throw badUserInput(describeDagProblem(problem), { field: 'input.nodes' });
      const now = clock();
      // Every node's task spec is checked now, so a bad node refuses the workflow before anything runs.
      for (const node of parsed.nodes) {
        const probe = buildTask(
          node,
          who,
          { replica: deps.replica, defaults: deps.defaults, now },
          {},
          `nodes.${node.id}`,
        );
        if (probe.status === 'REJECTED')
          throw badUserInput(`node ${node.id}: ${probe.error}`, { field: 'input.nodes' });
      }
      const wf: WorkflowRecord = {
        _id: `wf-${randomUUID()}`,
        name: parsed.name,
        status: 'RUNNING',
        failurePolicy: parsed.failurePolicy ?? 'FAIL_FAST',
        nodes: parsed.nodes.map(({ id, dependsOn, ...spec }) => ({
          id,
          spec: { ...spec },
          capability: spec.capability,
          dependsOn: dependsOn ?? [],
          status: 'PENDING',
          taskId: null,
        })),
        customerId: who.roles.includes('customer') ? who.sub : null,
        submittedBy: who.sub,
        roles: who.roles,
        rev: 0,
        outbox: [],
        outboxLockedUntil: null,
        createdAt: new Date(now),
        updatedAt: new Date(now),
        completedAt: null,
      };
      wf.outbox = [event(wf, null, now)];
      wf.outboxLockedUntil = outboxClaim(now);
      await workflows.create(wf);
      deps.relay?.publishWritten(workflows, wf._id, wf.outbox);
      return (await advance(wf._id)) ?? wf;
    },

    async cancel(id: string, reason: string): Promise<WorkflowRecord | null> {
      const outcome = await updateWithRevision(workflows, id, (wf) => {
        if (wf.status !== 'RUNNING') return null;
        const now = clock();
        const nodes = wf.nodes.map((n) =>
          n.status === 'PENDING' ? { ...n, status: 'CANCELED' as const } : n,
        );
        const next: WorkflowRecord = {
          ...wf,
          nodes,
          status: 'CANCELED',
          updatedAt: new Date(now),
          completedAt: new Date(now),
        };
        const canceled = event(next, null, now);
        return { update: stateUpdate(next, [canceled], now), value: { next, canceled } };
      });
      if (!outcome.written) return outcome.current;
      const { next, canceled } = outcome.value;
      deps.relay?.publishWritten(workflows, id, [canceled]);
      for (const node of outcome.current.nodes)
        if (node.status === 'RUNNING' && node.taskId)
          await engine.cancel(node.taskId, `workflow canceled: ${reason}`);
      return { ...next, rev: outcome.current.rev + 1 };
    },

    /** Advances every running workflow: after a restart, and as a safety net for missed wake-ups. */
    async reconcile(): Promise<void> {
      const running = await workflows.find({ status: 'RUNNING' }, { _id: 1 }).lean<{ _id: string }[]>();
      for (const { _id } of running) {
        await advance(_id).catch((err: unknown) =>
          deps.logger.error({ err, workflowId: _id }, 'advancing a workflow failed; retrying later'),
        );
      }
    },
  };
}

export type WorkflowEngine = ReturnType<typeof createWorkflowEngine>;
