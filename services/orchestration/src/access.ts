import type { Caller } from '@waooaw/shared';
import { assertOwnerOrStaff, requireRole } from '@waooaw/shared';

/** Tasks, workflows and sagas are read by their customer and by staff; support roles are neither. */
export const READERS = ['customer', 'operator', 'admin'] as const;

/**
 * Loads a task, workflow or saga as `caller` may read it: UNAUTHENTICATED for an anonymous caller,
 * FORBIDDEN for someone else's, null for an unknown id. The root fields (`task(id:)`...) and the
 * entity references (`_entities`, what other subgraphs' fields such as support's `ticket.work.task`
 * or the marketplace's `trialTask.task` resolve through) both go through here: a reference is just
 * another way in, so it must not skip the owner check.
 */
export async function readOwned<T extends { customerId: string | null }>(
  caller: Caller | null,
  what: string,
  load: () => Promise<T | null>,
): Promise<T | null> {
  const who = requireRole(caller, ...READERS);
  const record = await load();
  if (record) assertOwnerOrStaff(who, record.customerId, what);
  return record;
}
