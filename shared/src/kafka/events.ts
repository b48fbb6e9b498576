import type { z } from 'zod';

/**
 * One kind of event or command on the bus: its CloudEvents `type`, the topic it travels on and the
 * schema its `data` must satisfy, checked when it is produced and again when it is consumed.
 * Events have a topic of their own named like the type (`identity.agent.registered`); commands
 * share their domain's `<domain>.commands` topic.
 */
export interface EventDefinition<S extends z.ZodType = z.ZodType> {
  readonly type: string;
  readonly topic: string;
  readonly schema: S;
}

export type EventData<D extends EventDefinition> = z.output<D['schema']>;
/** What a producer gives: the schema's input (fields with defaults may be left out). */
export type EventInput<D extends EventDefinition> = z.input<D['schema']>;

const EVENT_TYPE = /^[a-z][a-z0-9-]*(\.[a-z][a-z0-9-]*)+$/;

export function defineEvent<S extends z.ZodType>(
  type: string,
  schema: S,
  options: { topic?: string } = {},
): EventDefinition<S> {
  if (!EVENT_TYPE.test(type)) {
    throw new Error(
      `event type "${type}" must look like <domain>.<entity>.<event> (lower case, dot separated)`,
    );
  }
  return { type, topic: options.topic ?? type, schema };
}

/** The dead-letter topic of a topic. */
export const dlqTopic = (topic: string) => `${topic}.dlq`;
