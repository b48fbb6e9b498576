import type { HandlerBinding } from '@waooaw/shared';
import { agentsMessages, on, orchestrationCommands } from '@waooaw/shared';
import type { TaskEngine } from '../engine';
import type { InstanceReplica } from '../replica';
import type { SubmissionDefaults } from '../submission';
import { taskFromCommand } from '../submission';

/** Runtimes' answers for attempts (`agents.task.results`). */
export function resultHandlers(engine: TaskEngine): HandlerBinding[] {
  return [
    on(agentsMessages.taskResult, async (data, envelope) => {
      await engine.onResult(data, envelope.id);
    }),
  ];
}

/** Tasks submitted over Kafka (`orchestration.commands`); a redelivered command finds its task there. */
export function commandHandlers(deps: {
  engine: TaskEngine;
  replica: InstanceReplica;
  defaults: SubmissionDefaults;
  clock: () => number;
}): HandlerBinding[] {
  return [
    on(orchestrationCommands.submitTask, async (command) => {
      await deps.engine.acceptOnce(taskFromCommand(command, { ...deps, now: deps.clock() }));
    }),
  ];
}
