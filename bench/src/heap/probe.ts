import WebSocket from 'ws';

/** process.memoryUsage() of a process right after a full garbage collection, in bytes. */
export interface HeapAfterGc {
  pid: number;
  at: string;
  rss: number;
  heapUsed: number;
  heapTotal: number;
  external: number;
  arrayBuffers: number;
}

/** The inspector's HTTP list: one entry per debuggable context of the process. */
interface InspectorTarget {
  webSocketDebuggerUrl: string;
}

/**
 * Resident memory alone cannot tell a leak from garbage V8 has not collected yet: a Node process's
 * RSS climbs between major collections and its allocator keeps freed pages. What a process really
 * holds is its heap right after a full collection. This opens the inspector of a running Node
 * process (SIGUSR1: Node then listens on 127.0.0.1:`port`, by default 9229), forces two full
 * collections through the DevTools protocol, reads process.memoryUsage() and closes the inspector
 * again. One process at a time (they would share the port). It takes no heap snapshot on purpose:
 * writing one leaves the process's RSS inflated by its native buffers for good, which would spoil
 * the very series being watched.
 */
export async function heapAfterGc(pid: number, port = 9229): Promise<HeapAfterGc> {
  process.kill(pid, 'SIGUSR1');
  const target = await inspectorTarget(port);
  const socket = new WebSocket(target.webSocketDebuggerUrl);
  await new Promise<void>((resolve, reject) => {
    socket.once('open', () => resolve());
    socket.once('error', reject);
  });
  let nextId = 0;
  const waiting = new Map<number, (result: unknown) => void>();
  socket.on('message', (raw: Buffer) => {
    const message = JSON.parse(raw.toString()) as { id?: number; result?: unknown };
    if (message.id !== undefined) waiting.get(message.id)?.(message.result);
  });
  const call = (method: string, params: Record<string, unknown> = {}) =>
    new Promise<unknown>((resolve) => {
      const id = ++nextId;
      waiting.set(id, resolve);
      socket.send(JSON.stringify({ id, method, params }));
    });
  try {
    // Two passes: the first can leave objects with finalizers or weak references for the second.
    await call('HeapProfiler.collectGarbage');
    await call('HeapProfiler.collectGarbage');
    const evaluated = (await call('Runtime.evaluate', {
      expression: 'JSON.stringify(process.memoryUsage())',
      returnByValue: true,
    })) as { result: { value: string } };
    const usage = JSON.parse(evaluated.result.value) as Omit<HeapAfterGc, 'pid' | 'at'>;
    return { pid, at: new Date().toISOString(), ...usage };
  } finally {
    // Closes the inspector's port, so the next process can open its own there. Deferred to the
    // process's next turn and asked only after this session has gone: closing the inspector from
    // inside the protocol call that asks for it (a plain `process._debugEnd()` evaluated here)
    // crashed the probed process with SIGSEGV now and then (about 1 probe in 10 on a loaded machine),
    // and a probe must never take down what it measures.
    await call('Runtime.evaluate', {
      expression: 'setTimeout(() => process._debugEnd(), 50), undefined',
    }).catch(() => undefined);
    const gone = new Promise((resolve) => socket.once('close', resolve));
    socket.close();
    await gone;
    await closedPort(port);
  }
}

/** Waits until nothing answers on the inspector's port any more, so that a next probe opens a fresh one. */
async function closedPort(port: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    try {
      await fetch(`http://127.0.0.1:${port}/json/version`);
    } catch {
      return; // refused: closed
    }
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`the inspector on 127.0.0.1:${port} did not close within 10 s`);
}

async function inspectorTarget(port: number): Promise<InspectorTarget> {
  const deadline = Date.now() + 10_000;
  let why = 'it lists no target';
  while (Date.now() < deadline) {
    try {
      const res = await fetch(`http://127.0.0.1:${port}/json/list`);
      const [target] = (await res.json()) as InspectorTarget[];
      if (target) return target;
    } catch (err) {
      why = (err as Error).message; // not listening yet: SIGUSR1 is handled asynchronously
    }
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  throw new Error(`no inspector on 127.0.0.1:${port} within 10 s: ${why}`);
}
