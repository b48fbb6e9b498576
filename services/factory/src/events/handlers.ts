import type { EventBus, HandlerBinding } from '@waooaw/shared';
import { ErrorCode, factoryCommands, factoryEvents, identityEvents, on, PlatformError } from '@waooaw/shared';
import type { DefinitionProblem } from '../domain/definition';
import type { Factory } from '../factory';

/** Identity's answers to the builds' register commands. */
export function identityOutcomeHandlers(factory: Factory): HandlerBinding[] {
  return [
    on(identityEvents.agentRegistered, async (event, envelope) => {
      if (event.requestId)
        await factory.complete(event.requestId, { agentId: event.agentId }, envelope.traceparent);
    }),
    on(identityEvents.agentRegistrationRejected, async (event, envelope) => {
      await factory.complete(
        event.requestId,
        { error: event.reason, code: event.code },
        envelope.traceparent,
      );
    }),
  ];
}

/**
 * factory.commands: "agent creates agent" — a task (WowAgentFactory's factory.create-agent) submits
 * a definition. The outcome is the build's factory.build.updated events, or factory.definition.rejected.
 */
export function commandHandlers(factory: Factory, bus: EventBus): HandlerBinding[] {
  return [
    on(factoryCommands.submitDefinition, async (command, envelope, context) => {
      try {
        await factory.submit(command.yaml, {
          actor: command.actor,
          activate: command.activate,
          requestId: command.requestId,
          traceparent: envelope.traceparent,
        });
      } catch (err) {
        const code = err instanceof PlatformError ? err.code : undefined;
        if (code !== ErrorCode.INVALID_AGENT_DEFINITION && code !== ErrorCode.CONFLICT) throw err;
        const problems = (err as PlatformError).extensions.problems as DefinitionProblem[] | undefined;
        context.logger.warn({ requestId: command.requestId, code }, 'submitted definition rejected');
        await bus.publish(
          factoryEvents.definitionRejected,
          { requestId: command.requestId, problems: problems ?? [], reason: (err as Error).message },
          { subject: command.requestId, traceparent: envelope.traceparent },
        );
      }
    }),
  ];
}
