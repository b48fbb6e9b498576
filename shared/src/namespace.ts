import { z } from 'zod';

/**
 * WAOOAW_NAMESPACE: separates platforms that share one Kafka and one MongoDB (a test run beside
 * `npm start`, two developers on one broker). A platform's topics, consumer groups and databases
 * all carry it, so nothing of one is read, consumed or written by another. Empty (the default):
 * the names are exactly the plain ones.
 *
 * Short, because it ends up in MongoDB database names (at most 63 bytes) next to the service's own
 * name; letters, digits, dash and underscore only, because those are what Kafka topic names, group
 * ids and MongoDB database names all accept (MongoDB refuses a dot).
 */
export const NAMESPACE_MAX_LENGTH = 24;

export const namespaceSchema = z
  .string()
  .trim()
  .max(NAMESPACE_MAX_LENGTH, `must be at most ${NAMESPACE_MAX_LENGTH} characters`)
  .regex(/^[a-zA-Z0-9_-]*$/, 'use letters, digits, dash or underscore')
  .default('');

/** The topic a namespaced platform uses for `topic` (its dead-letter topics too): `<ns>.<topic>`. */
export const namespacedTopic = (namespace: string, topic: string) =>
  namespace ? `${namespace}.${topic}` : topic;

/**
 * The logical topic (as a platform's code names it) of a topic named as on the broker: the
 * namespace's `<ns>.` removed. A name without it is already logical, and stays as it is.
 */
export const logicalTopic = (namespace: string, topic: string) => {
  const prefix = namespacedTopic(namespace, '');
  return namespace && topic.startsWith(prefix) ? topic.slice(prefix.length) : topic;
};

/** The consumer group id a namespaced platform uses for `groupId`: `<ns>.<groupId>`. */
export const namespacedGroup = (namespace: string, groupId: string) =>
  namespace ? `${namespace}.${groupId}` : groupId;

/** The MongoDB database a namespaced platform uses for `dbName`: `<ns>_<dbName>` (no dots in db names). */
export const namespacedDb = (namespace: string, dbName: string) =>
  namespace ? `${namespace}_${dbName}` : dbName;
