import type { HandlerBinding } from '@waooaw/shared';
import { agentsMessages, on } from '@waooaw/shared';
import type { TaskEngine } from '../engine';

/** Runtimes' answers for attempts (`agents.task.results`). */
export function resultHandlers(engine: TaskEngine): HandlerBinding[] {
  return [
    on(agentsMessages.taskResult, async (data, envelope) => {
      await engine.onResult(data, envelope.id);
    }),
  ];
}
