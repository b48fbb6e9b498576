import type { EventBus, HandlerBinding } from '@waooaw/shared';
import { identityCommands, identityEvents, on } from '@waooaw/shared';
import type { AgentRegistry } from '../agent-registry';

/**
 * identity.commands: the factory asks identity to register an agent it built. The outcome goes back
 * as an event carrying the command's requestId (the build id): `identity.agent.registered` from the
 * agent's outbox, or `identity.agent.registration-rejected` (no state changed, so published directly).
 */
export function commandHandlers(registry: AgentRegistry, bus: EventBus): HandlerBinding[] {
  return [
    on(identityCommands.registerAgent, async (command, envelope, context) => {
      const result = await registry.registerFromCommand(command, envelope.id, envelope.traceparent);
      if ('rejected' in result) {
        context.logger.warn(
          { requestId: command.requestId, ...result.rejected },
          'agent registration rejected',
        );
        await bus.publish(
          identityEvents.agentRegistrationRejected,
          { requestId: command.requestId, ...result.rejected },
          { subject: result.rejected.handle || command.requestId, traceparent: envelope.traceparent },
        );
        return;
      }
      context.logger.info(
        { requestId: command.requestId, outcome: result.outcome },
        'agent registration applied',
      );
    }),
  ];
}
