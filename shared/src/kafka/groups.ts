import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import type { Kafka } from 'kafkajs';
import type { Logger } from '../logger';

/**
 * Consumer groups come in two kinds, and each consumer says which it is:
 * - work: one group shared by every process of a service, so each message is handled once by
 *   whichever process holds its partition (commands, results, heartbeats, projections into the
 *   database). Two processes side by side split the partitions, which is the point.
 * - view: a process rebuilds something in its own memory from a topic (orchestration's instance
 *   replica) and needs every message, whoever else runs. Shared, such a group would split the
 *   topic between the processes of a rolling restart and leave each with part of the view, for good
 *   once the other has committed the rest. A view's group is the process's own: `processGroupId`.
 */

/** The group of one process reading `base` as a view: `<base>.<host>-<pid>-<random>`, new at every start. */
export function processGroupId(base: string): string {
  // Host and pid say whose group it is on the broker; the random part keeps two starts apart.
  const host = hostname().replace(/[^A-Za-z0-9_-]/g, '_');
  return `${base}.${host}-${process.pid}-${randomUUID().slice(0, 8)}`;
}

/**
 * Deletes the groups named `<base>.*` (see processGroupId) that have no member: left by processes
 * that stopped without deleting their own (kill -9, a crash). A live process is a member of its group
 * all along, so its group is never empty (the broker refuses to delete a group with members anyway);
 * the one exception is the moment after a broker restart before its members rejoin, and the cost of
 * deleting it then is that process reading its view's topic again from its start policy.
 * Returns the deleted ids; failures are logged, not thrown (this is housekeeping).
 */
export async function deleteIdleGroups(kafka: Kafka, base: string, logger: Logger): Promise<string[]> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    const { groups } = await admin.listGroups();
    const ours = groups.map((g) => g.groupId).filter((id) => id.startsWith(`${base}.`));
    if (ours.length === 0) return [];
    const described = await admin.describeGroups(ours);
    const idle = described.groups.filter((g) => g.state === 'Empty').map((g) => g.groupId);
    if (idle.length === 0) return [];
    await admin.deleteGroups(idle);
    logger.info({ groups: idle }, 'deleted consumer groups left by stopped processes');
    return idle;
  } catch (err) {
    logger.warn({ error: (err as Error).message }, 'could not delete idle consumer groups');
    return [];
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
