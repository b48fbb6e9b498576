import type { HandlerBinding } from '@waooaw/shared';
import { discoveryEvents, identityEvents, on, orchestrationEvents } from '@waooaw/shared';
import type { Listings } from '../listings';
import type { Trials } from '../trials';

/** identity's agents and discovery's health, projected into listings. */
export function agentHandlers(listings: Listings): HandlerBinding[] {
  return [
    on(identityEvents.agentRegistered, (data, envelope) => listings.onRegistered(data, envelope)),
    on(identityEvents.agentLifecycleChanged, (data, envelope) => listings.onLifecycleChanged(data, envelope)),
    on(identityEvents.agentCapabilitiesChanged, (data) => listings.onCapabilitiesChanged(data)),
    on(discoveryEvents.healthChanged, (data, envelope) => listings.onHealthChanged(data, envelope)),
  ];
}

/**
 * orchestration's task updates: every finished task feeds its agent's figures; the marketplace's
 * own tasks (recognised by the ids it chose) become samples, deliverables and trial task states.
 */
export function taskHandlers(listings: Listings, trials: Trials): HandlerBinding[] {
  return [
    on(orchestrationEvents.taskUpdated, async (data, envelope) => {
      await listings.recordTaskOutcome(data, envelope);
      if (data.taskId.startsWith('trial.')) await trials.onTaskUpdated(data, envelope);
      else if (data.taskId.startsWith('sample.')) await listings.recordSample(data);
    }),
  ];
}
