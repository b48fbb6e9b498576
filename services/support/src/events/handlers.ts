import type { HandlerBinding } from '@waooaw/shared';
import { on, orchestrationEvents } from '@waooaw/shared';
import { SUPPORT_TASK_PREFIX } from '../domain/machine';
import type { Tickets } from '../tickets';

/** orchestration's task updates: the answers of the agents working on tickets (ids this service chose). */
export function taskHandlers(tickets: Tickets): HandlerBinding[] {
  return [
    on(orchestrationEvents.taskUpdated, async (data, envelope) => {
      // The busiest topic of the platform: others' tasks are skipped without touching the database.
      if (data.taskId.startsWith(SUPPORT_TASK_PREFIX)) await tickets.onTaskUpdated(data, envelope);
    }),
  ];
}
