/**
 * Runs an instance's tasks with a concurrency limit; work beyond it waits in arrival order.
 * Orchestration only dispatches within the limit, so the queue only absorbs races (a result and a
 * new assignment crossing on the wire).
 */
export function createWorkerPool(concurrency: number) {
  let active = 0;
  const waiting: (() => Promise<void>)[] = [];
  const idle: (() => void)[] = [];

  const next = () => {
    while (active < concurrency && waiting.length > 0) {
      const job = waiting.shift()!;
      active++;
      void job().finally(() => {
        active--;
        next();
        if (active === 0 && waiting.length === 0) for (const resolve of idle.splice(0)) resolve();
      });
    }
  };

  return {
    /** Queues a job; it never rejects the caller (a job handles its own errors). */
    run(job: () => Promise<void>): void {
      waiting.push(job);
      next();
    },
    get active() {
      return active;
    },
    get waiting() {
      return waiting.length;
    },
    /** Resolves when every job has finished. */
    drain(): Promise<void> {
      return active === 0 && waiting.length === 0
        ? Promise.resolve()
        : new Promise((resolve) => idle.push(resolve));
    },
  };
}

export type WorkerPool = ReturnType<typeof createWorkerPool>;
