// Workflow graphs for the orchestrator. This is domain logic we own: what makes a workflow valid, which steps
// may start, and what a failure does to the rest under our failure policies are our rules, which no graph
// library models. Pure code: no clock, no I/O, and inputs are never mutated.
//
// Edges run parent -> child: when `b.dependsOn` contains `a`, `a` is the parent and must complete before `b`.

/** One step of a workflow as the graph sees it: its id and the ids it must wait for. */
export interface DagNode {
  id: string;
  dependsOn: readonly string[];
}

/** Why a workflow graph cannot run; one value per problem so callers can report it precisely. */
export type DagProblem =
  | { kind: 'CYCLE'; path: string[] }
  | { kind: 'UNKNOWN_DEPENDENCY'; node: string; dependsOn: string }
  | { kind: 'DUPLICATE_NODE'; node: string }
  | { kind: 'SELF_DEPENDENCY'; node: string }
  | { kind: 'EMPTY' };

/** Thrown by functions that need a valid graph, carrying the problem so callers need not parse the message. */
export class DagValidationError extends Error {
  /** The first problem `validateDag` found. */
  readonly problem: DagProblem;

  constructor(problem: DagProblem) {
    super(describeDagProblem(problem));
    this.name = 'DagValidationError';
    this.problem = problem;
  }
}

/** Children (dependents) of every node, in input order and without repeats; only known ids appear. */
function childrenOf(nodes: readonly DagNode[]): Map<string, string[]> {
  const children = new Map<string, string[]>();
  for (const node of nodes) if (!children.has(node.id)) children.set(node.id, []);
  for (const node of nodes) {
    for (const parent of new Set(node.dependsOn)) {
      const list = children.get(parent);
      if (list !== undefined && !list.includes(node.id)) list.push(node.id);
    }
  }
  return children;
}

/**
 * Finds a cycle by depth-first search along parent -> child edges, starting from each node in input order
 * and visiting children in input order, so the same graph always yields the same path. Iterative, so a long
 * chain cannot overflow the call stack.
 */
function findCycle(nodes: readonly DagNode[]): string[] | null {
  const children = childrenOf(nodes);
  const DONE = 2;
  const ON_PATH = 1;
  const mark = new Map<string, number>();
  for (const root of nodes) {
    if (mark.has(root.id)) continue;
    const stack: { id: string; next: number }[] = [{ id: root.id, next: 0 }];
    mark.set(root.id, ON_PATH);
    while (stack.length > 0) {
      const top = stack[stack.length - 1]!;
      const kids = children.get(top.id) ?? [];
      if (top.next >= kids.length) {
        mark.set(top.id, DONE);
        stack.pop();
        continue;
      }
      const child = kids[top.next++]!;
      const state = mark.get(child);
      if (state === ON_PATH) {
        const start = stack.findIndex((frame) => frame.id === child);
        return [...stack.slice(start).map((frame) => frame.id), child];
      }
      if (state === undefined) {
        mark.set(child, ON_PATH);
        stack.push({ id: child, next: 0 });
      }
    }
  }
  return null;
}

/**
 * Validates a graph before it is accepted: the first problem found, or null. Checks run in a fixed order so
 * the answer is deterministic: EMPTY; then DUPLICATE_NODE (first repeated id in input order); then, node by
 * node in input order and dependency by dependency, SELF_DEPENDENCY and UNKNOWN_DEPENDENCY; then CYCLE. A
 * CYCLE path starts and ends with the same node and follows edges parent -> child (if b dependsOn a and a
 * dependsOn b, the path is ['a', 'b', 'a']). Repeating an id inside one `dependsOn` is tolerated.
 */
export function validateDag(nodes: readonly DagNode[]): DagProblem | null {
  if (nodes.length === 0) return { kind: 'EMPTY' };
  const ids = new Set<string>();
  for (const node of nodes) {
    if (ids.has(node.id)) return { kind: 'DUPLICATE_NODE', node: node.id };
    ids.add(node.id);
  }
  for (const node of nodes) {
    for (const parent of node.dependsOn) {
      if (parent === node.id) return { kind: 'SELF_DEPENDENCY', node: node.id };
      if (!ids.has(parent)) return { kind: 'UNKNOWN_DEPENDENCY', node: node.id, dependsOn: parent };
    }
  }
  const cycle = findCycle(nodes);
  return cycle === null ? null : { kind: 'CYCLE', path: cycle };
}

/**
 * Topological order (Kahn's algorithm; among nodes free at the same time the earliest in input order goes
 * first), so plans and logs list steps the same way every time. An empty graph gives []; any other problem
 * `validateDag` reports (a cycle, an unknown dependency...) throws a DagValidationError.
 */
export function topologicalOrder(nodes: readonly DagNode[]): string[] {
  if (nodes.length === 0) return [];
  const problem = validateDag(nodes);
  if (problem !== null) throw new DagValidationError(problem);
  const index = new Map(nodes.map((node, i) => [node.id, i]));
  const children = childrenOf(nodes);
  const waitingOn = nodes.map((node) => new Set(node.dependsOn).size);
  // Indices of free nodes, kept sorted ascending so the earliest in input order is taken first.
  const free: number[] = [];
  waitingOn.forEach((count, i) => {
    if (count === 0) free.push(i);
  });
  const order: string[] = [];
  while (free.length > 0) {
    const i = free.shift()!;
    const id = nodes[i]!.id;
    order.push(id);
    for (const child of children.get(id) ?? []) {
      const c = index.get(child)!;
      waitingOn[c]! -= 1;
      if (waitingOn[c] === 0) {
        let at = 0;
        while (at < free.length && free[at]! < c) at++;
        free.splice(at, 0, c);
      }
    }
  }
  return order;
}

/** Where a workflow step stands; the orchestrator stores one per node. */
export type NodeState = 'PENDING' | 'RUNNING' | 'COMPLETED' | 'FAILED' | 'CANCELED' | 'SKIPPED';

/** A node missing from the states map has not started yet. */
function stateOf(states: Readonly<Record<string, NodeState>>, id: string): NodeState {
  return Object.prototype.hasOwnProperty.call(states, id) ? states[id]! : 'PENDING';
}

/**
 * Nodes that can start now: PENDING with every parent COMPLETED, in input order. A node absent from
 * `states` counts as PENDING. The caller dispatches these and marks them RUNNING.
 */
export function readyNodes(nodes: readonly DagNode[], states: Readonly<Record<string, NodeState>>): string[] {
  return nodes
    .filter(
      (node) =>
        stateOf(states, node.id) === 'PENDING' &&
        node.dependsOn.every((parent) => stateOf(states, parent) === 'COMPLETED'),
    )
    .map((node) => node.id);
}

/**
 * Every node reachable from `id` following dependents (children, grandchildren...), in input order, without
 * `id` itself; these are the nodes whose inputs a failure of `id` would be missing. Unknown ids give [].
 */
export function descendants(nodes: readonly DagNode[], id: string): string[] {
  const children = childrenOf(nodes);
  const reached = new Set<string>();
  const queue = [...(children.get(id) ?? [])];
  for (let head = 0; head < queue.length; head++) {
    const next = queue[head]!;
    if (next === id || reached.has(next)) continue;
    reached.add(next);
    queue.push(...(children.get(next) ?? []));
  }
  return nodes.filter((node) => reached.has(node.id)).map((node) => node.id);
}

/** What a failed step does to the rest of the workflow; chosen per workflow. */
export type FailurePolicy = 'FAIL_FAST' | 'CONTINUE';

/** The result of applying a failure: the new states and what changed, so the caller can act and log. */
export interface FailureOutcome {
  /** A new map (the input is not mutated) with the failed node FAILED. */
  states: Record<string, NodeState>;
  /** Nodes moved PENDING -> CANCELED (FAIL_FAST), in input order. */
  canceled: string[];
  /** Nodes moved PENDING -> SKIPPED (CONTINUE), in input order. */
  skipped: string[];
  /** RUNNING nodes the caller must cancel (FAIL_FAST); their state is left to the caller's cancellation. */
  runningToCancel: string[];
}

/**
 * What a node failure does to the others. FAIL_FAST: every PENDING node becomes CANCELED and the RUNNING
 * ones are returned for the caller to cancel. CONTINUE: the failed node's PENDING descendants become
 * SKIPPED (they would be missing an input) while independent branches go on. Nodes absent from `states`
 * count as PENDING and appear in the result. Throws if `failedId` is not a node of the graph.
 */
export function onNodeFailed(
  nodes: readonly DagNode[],
  states: Readonly<Record<string, NodeState>>,
  failedId: string,
  policy: FailurePolicy,
): FailureOutcome {
  if (!nodes.some((node) => node.id === failedId)) {
    throw new Error(`node ${failedId} is not part of this workflow`);
  }
  const next: Record<string, NodeState> = { ...states, [failedId]: 'FAILED' };
  const canceled: string[] = [];
  const skipped: string[] = [];
  const runningToCancel: string[] = [];
  if (policy === 'FAIL_FAST') {
    for (const node of nodes) {
      if (node.id === failedId) continue;
      const state = stateOf(states, node.id);
      if (state === 'PENDING') {
        next[node.id] = 'CANCELED';
        canceled.push(node.id);
      } else if (state === 'RUNNING') {
        runningToCancel.push(node.id);
      }
    }
  } else {
    for (const id of descendants(nodes, failedId)) {
      if (stateOf(states, id) === 'PENDING') {
        next[id] = 'SKIPPED';
        skipped.push(id);
      }
    }
  }
  return { states: next, canceled, skipped, runningToCancel };
}

/**
 * The workflow's overall state once every node is final, or null while some node is PENDING or RUNNING (or
 * `states` is empty, as nothing has been decided). FAILED if any node FAILED; else CANCELED if any was
 * CANCELED; else COMPLETED (every node COMPLETED, or SKIPPED by the caller without a failure). `states` must
 * hold every node of the workflow: absent nodes cannot be seen.
 */
export function workflowOutcome(
  states: Readonly<Record<string, NodeState>>,
): 'COMPLETED' | 'FAILED' | 'CANCELED' | null {
  const values = Object.values(states);
  if (values.length === 0 || values.some((s) => s === 'PENDING' || s === 'RUNNING')) return null;
  if (values.includes('FAILED')) return 'FAILED';
  if (values.includes('CANCELED')) return 'CANCELED';
  return 'COMPLETED';
}

/** A readable description of a problem, written for the person who submitted the workflow. */
export function describeDagProblem(p: DagProblem): string {
  switch (p.kind) {
    case 'CYCLE':
      return `the workflow has a cycle: ${p.path.join(' -> ')}; remove one of these dependencies`;
    case 'UNKNOWN_DEPENDENCY':
      return `node ${p.node} depends on ${p.dependsOn}, which is not in the workflow; add it or remove the dependency`;
    case 'DUPLICATE_NODE':
      return `the workflow defines node ${p.node} more than once; node ids must be unique`;
    case 'SELF_DEPENDENCY':
      return `node ${p.node} depends on itself; remove that dependency`;
    case 'EMPTY':
      return 'the workflow has no nodes; add at least one';
  }
}
