import type { DagNode, DagProblem, NodeState } from './dag';
import {
  DagValidationError,
  descendants,
  describeDagProblem,
  onNodeFailed,
  readyNodes,
  topologicalOrder,
  validateDag,
  workflowOutcome,
} from './dag';

const node = (id: string, ...dependsOn: string[]): DagNode => ({ id, dependsOn });

/** a -> b, a -> c, b + c -> d */
const DIAMOND: readonly DagNode[] = [node('a'), node('b', 'a'), node('c', 'a'), node('d', 'b', 'c')];

/** The diamond plus an independent branch x -> y. */
const WITH_BRANCH: readonly DagNode[] = [...DIAMOND, node('x'), node('y', 'x')];

function allPending(nodes: readonly DagNode[]): Record<string, NodeState> {
  return Object.fromEntries(nodes.map((n): [string, NodeState] => [n.id, 'PENDING']));
}

describe('validateDag', () => {
  it('accepts valid graphs', () => {
    expect(validateDag(DIAMOND)).toBeNull();
    expect(validateDag(WITH_BRANCH)).toBeNull();
    expect(validateDag([node('only')])).toBeNull();
    expect(validateDag([node('a'), node('b', 'a', 'a')])).toBeNull();
  });

  it('reports an empty graph', () => {
    expect(validateDag([])).toEqual({ kind: 'EMPTY' });
  });

  it('returns the exact path of a 3-cycle, following parent -> child edges', () => {
    // b depends on a, c on b, a on c: a -> b -> c -> a.
    expect(validateDag([node('a', 'c'), node('b', 'a'), node('c', 'b')])).toEqual({
      kind: 'CYCLE',
      path: ['a', 'b', 'c', 'a'],
    });
  });

  it('returns the exact path of a 2-cycle', () => {
    expect(validateDag([node('a', 'b'), node('b', 'a')])).toEqual({ kind: 'CYCLE', path: ['a', 'b', 'a'] });
  });

  it('finds a cycle that is not reachable from the first node', () => {
    const nodes = [node('start'), node('next', 'start'), node('p', 'q'), node('q', 'p'), node('r', 'q')];
    expect(validateDag(nodes)).toEqual({ kind: 'CYCLE', path: ['p', 'q', 'p'] });
  });

  it('reports only the cycle itself when it is entered from outside', () => {
    // root -> m -> n -> o -> m
    const nodes = [node('root'), node('m', 'root', 'o'), node('n', 'm'), node('o', 'n')];
    expect(validateDag(nodes)).toEqual({ kind: 'CYCLE', path: ['m', 'n', 'o', 'm'] });
  });

  it('reports an unknown dependency', () => {
    expect(validateDag([node('a'), node('b', 'a', 'ghost')])).toEqual({
      kind: 'UNKNOWN_DEPENDENCY',
      node: 'b',
      dependsOn: 'ghost',
    });
  });

  it('reports a duplicate node', () => {
    expect(validateDag([node('a'), node('b'), node('a', 'b')])).toEqual({
      kind: 'DUPLICATE_NODE',
      node: 'a',
    });
  });

  it('reports a self dependency (rather than a one-node cycle)', () => {
    expect(validateDag([node('a'), node('b', 'b')])).toEqual({ kind: 'SELF_DEPENDENCY', node: 'b' });
  });

  it('reports the first problem in a fixed order', () => {
    // Duplicates come before dependency problems, which come before cycles.
    expect(validateDag([node('a', 'ghost'), node('a')])).toEqual({ kind: 'DUPLICATE_NODE', node: 'a' });
    expect(validateDag([node('a', 'b'), node('b', 'a'), node('c', 'ghost')])).toEqual({
      kind: 'UNKNOWN_DEPENDENCY',
      node: 'c',
      dependsOn: 'ghost',
    });
    // Dependency problems are reported node by node in input order.
    expect(validateDag([node('a', 'ghost'), node('b', 'b')])).toEqual({
      kind: 'UNKNOWN_DEPENDENCY',
      node: 'a',
      dependsOn: 'ghost',
    });
  });

  it('handles a long chain without overflowing the stack', () => {
    const chain = Array.from({ length: 50_000 }, (_, i) =>
      i === 0 ? node('n0') : node(`n${i}`, `n${i - 1}`),
    );
    expect(validateDag(chain)).toBeNull();
    expect(topologicalOrder(chain)).toHaveLength(50_000);
  });
});

describe('topologicalOrder', () => {
  it('orders parents before children, breaking ties by input order', () => {
    expect(topologicalOrder(DIAMOND)).toEqual(['a', 'b', 'c', 'd']);
    expect(topologicalOrder([node('d', 'b', 'c'), node('c', 'a'), node('b', 'a'), node('a')])).toEqual([
      'a',
      'c',
      'b',
      'd',
    ]);
    expect(topologicalOrder(WITH_BRANCH)).toEqual(['a', 'b', 'c', 'd', 'x', 'y']);
  });

  it('is stable: the same input always gives the same order', () => {
    const nodes = [node('z'), node('y'), node('x', 'z'), node('w', 'y', 'z'), node('v')];
    const first = topologicalOrder(nodes);
    expect(first).toEqual(['z', 'y', 'x', 'w', 'v']);
    for (let i = 0; i < 5; i++) expect(topologicalOrder(nodes)).toEqual(first);
  });

  it('gives [] for an empty graph and throws a DagValidationError carrying the problem otherwise', () => {
    expect(topologicalOrder([])).toEqual([]);
    let error: unknown;
    try {
      topologicalOrder([node('a', 'b'), node('b', 'a')]);
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(DagValidationError);
    expect((error as DagValidationError).problem).toEqual({ kind: 'CYCLE', path: ['a', 'b', 'a'] });
    expect((error as DagValidationError).message).toBe(
      'the workflow has a cycle: a -> b -> a; remove one of these dependencies',
    );
    expect(() => topologicalOrder([node('a', 'ghost')])).toThrow(DagValidationError);
  });
});

describe('readyNodes', () => {
  it('progresses through the diamond: a; then b and c together; then d', () => {
    const states = allPending(DIAMOND);
    expect(readyNodes(DIAMOND, states)).toEqual(['a']);

    states.a = 'RUNNING';
    expect(readyNodes(DIAMOND, states)).toEqual([]);

    states.a = 'COMPLETED';
    expect(readyNodes(DIAMOND, states)).toEqual(['b', 'c']);

    states.b = 'COMPLETED';
    states.c = 'RUNNING';
    expect(readyNodes(DIAMOND, states)).toEqual([]);

    states.c = 'COMPLETED';
    expect(readyNodes(DIAMOND, states)).toEqual(['d']);

    states.d = 'COMPLETED';
    expect(readyNodes(DIAMOND, states)).toEqual([]);
  });

  it('treats nodes missing from the states map as PENDING', () => {
    expect(readyNodes(DIAMOND, {})).toEqual(['a']);
    expect(readyNodes(DIAMOND, { a: 'COMPLETED' })).toEqual(['b', 'c']);
  });

  it('does not start a node whose parent failed or was skipped', () => {
    expect(readyNodes(DIAMOND, { a: 'COMPLETED', b: 'FAILED', c: 'COMPLETED' })).toEqual([]);
    expect(readyNodes(DIAMOND, { a: 'COMPLETED', b: 'SKIPPED', c: 'COMPLETED' })).toEqual([]);
  });
});

describe('descendants', () => {
  it('follows children and grandchildren, in input order', () => {
    expect(descendants(DIAMOND, 'a')).toEqual(['b', 'c', 'd']);
    expect(descendants(DIAMOND, 'b')).toEqual(['d']);
    expect(descendants(DIAMOND, 'd')).toEqual([]);
    expect(descendants(WITH_BRANCH, 'x')).toEqual(['y']);
    expect(descendants(WITH_BRANCH, 'nope')).toEqual([]);
  });

  it('terminates on a cyclic graph and leaves out the start node', () => {
    expect(descendants([node('a', 'c'), node('b', 'a'), node('c', 'b')], 'a')).toEqual(['b', 'c']);
  });
});

describe('onNodeFailed', () => {
  it('FAIL_FAST on the diamond cancels every pending node and returns the running ones', () => {
    const states: Record<string, NodeState> = { a: 'COMPLETED', b: 'RUNNING', c: 'RUNNING', d: 'PENDING' };
    const before = { ...states };
    const result = onNodeFailed(DIAMOND, states, 'b', 'FAIL_FAST');
    expect(result).toEqual({
      states: { a: 'COMPLETED', b: 'FAILED', c: 'RUNNING', d: 'CANCELED' },
      canceled: ['d'],
      skipped: [],
      runningToCancel: ['c'],
    });
    expect(states).toEqual(before);
  });

  it('FAIL_FAST also stops an independent branch', () => {
    const states: Record<string, NodeState> = {
      a: 'COMPLETED',
      b: 'RUNNING',
      c: 'PENDING',
      d: 'PENDING',
      x: 'RUNNING',
      y: 'PENDING',
    };
    const result = onNodeFailed(WITH_BRANCH, states, 'b', 'FAIL_FAST');
    expect(result.states).toEqual({
      a: 'COMPLETED',
      b: 'FAILED',
      c: 'CANCELED',
      d: 'CANCELED',
      x: 'RUNNING',
      y: 'CANCELED',
    });
    expect(result.canceled).toEqual(['c', 'd', 'y']);
    expect(result.runningToCancel).toEqual(['x']);
    expect(result.skipped).toEqual([]);
  });

  it('CONTINUE on the diamond skips only the failed node descendants', () => {
    const states: Record<string, NodeState> = { a: 'COMPLETED', b: 'RUNNING', c: 'RUNNING', d: 'PENDING' };
    const result = onNodeFailed(DIAMOND, states, 'b', 'CONTINUE');
    expect(result).toEqual({
      states: { a: 'COMPLETED', b: 'FAILED', c: 'RUNNING', d: 'SKIPPED' },
      canceled: [],
      skipped: ['d'],
      runningToCancel: [],
    });
    expect(readyNodes(DIAMOND, result.states)).toEqual([]);
  });

  it('CONTINUE lets an independent branch go on', () => {
    const states: Record<string, NodeState> = {
      a: 'RUNNING',
      b: 'PENDING',
      c: 'PENDING',
      d: 'PENDING',
      x: 'COMPLETED',
      y: 'PENDING',
    };
    const before = { ...states };
    const result = onNodeFailed(WITH_BRANCH, states, 'a', 'CONTINUE');
    expect(result.states).toEqual({
      a: 'FAILED',
      b: 'SKIPPED',
      c: 'SKIPPED',
      d: 'SKIPPED',
      x: 'COMPLETED',
      y: 'PENDING',
    });
    expect(result.skipped).toEqual(['b', 'c', 'd']);
    expect(readyNodes(WITH_BRANCH, result.states)).toEqual(['y']);
    expect(workflowOutcome(result.states)).toBeNull();
    expect(workflowOutcome({ ...result.states, y: 'COMPLETED' })).toBe('FAILED');
    expect(states).toEqual(before);
  });

  it('refuses a node that is not in the graph', () => {
    expect(() => onNodeFailed(DIAMOND, {}, 'ghost', 'CONTINUE')).toThrow(
      'node ghost is not part of this workflow',
    );
  });
});

describe('workflowOutcome', () => {
  it.each<[Record<string, NodeState>, ReturnType<typeof workflowOutcome>]>([
    [{ a: 'COMPLETED', b: 'COMPLETED' }, 'COMPLETED'],
    [{ a: 'COMPLETED', b: 'SKIPPED' }, 'COMPLETED'],
    [{ a: 'COMPLETED', b: 'FAILED', c: 'SKIPPED' }, 'FAILED'],
    [{ a: 'FAILED', b: 'CANCELED' }, 'FAILED'],
    [{ a: 'COMPLETED', b: 'CANCELED' }, 'CANCELED'],
    [{ a: 'COMPLETED', b: 'RUNNING' }, null],
    [{ a: 'FAILED', b: 'PENDING' }, null],
    [{}, null],
  ])('%j -> %s', (states, outcome) => {
    expect(workflowOutcome(states)).toBe(outcome);
  });
});

describe('describeDagProblem', () => {
  it.each<[DagProblem, string]>([
    [
      { kind: 'CYCLE', path: ['a', 'b', 'c', 'a'] },
      'the workflow has a cycle: a -> b -> c -> a; remove one of these dependencies',
    ],
    [
      { kind: 'UNKNOWN_DEPENDENCY', node: 'b', dependsOn: 'ghost' },
      'node b depends on ghost, which is not in the workflow; add it or remove the dependency',
    ],
    [
      { kind: 'DUPLICATE_NODE', node: 'a' },
      'the workflow defines node a more than once; node ids must be unique',
    ],
    [{ kind: 'SELF_DEPENDENCY', node: 'a' }, 'node a depends on itself; remove that dependency'],
    [{ kind: 'EMPTY' }, 'the workflow has no nodes; add at least one'],
  ])('describes %j', (problem, text) => {
    expect(describeDagProblem(problem)).toBe(text);
  });
});
