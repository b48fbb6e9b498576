import { badUserInput } from '../errors';

/** Relay cursors are opaque to clients: base64url of the sort key. */
export const encodeCursor = (key: string) => Buffer.from(key, 'utf8').toString('base64url');

export function decodeCursor(cursor: string): string {
  const key = Buffer.from(cursor, 'base64url').toString('utf8');
  if (!key || encodeCursor(key) !== cursor) {
    throw badUserInput(
      `"${cursor}" is not a cursor this API returned; pass an endCursor from a previous page`,
    );
  }
  return key;
}

/** The page a list returns when the client gives no `first` (the gateway costs such a list at it). */
export const DEFAULT_PAGE_SIZE = 20;

/** Validates a page size: 1..max, default when absent. */
export function pageSize(first: number | null | undefined, fallback = DEFAULT_PAGE_SIZE, max = 100): number {
  if (first === null || first === undefined) return fallback;
  if (!Number.isInteger(first) || first < 1 || first > max) {
    throw badUserInput(`first must be between 1 and ${max}`, { field: 'first' });
  }
  return first;
}

export interface Connection<T> {
  edges: { cursor: string; node: T }[];
  pageInfo: { hasNextPage: boolean; endCursor: string | null };
  totalCount: number;
}

/**
 * Builds a Relay connection from one page fetched with `limit + 1` rows (the extra row only says
 * whether there is a next page).
 */
export function toConnection<T>(
  rows: T[],
  limit: number,
  totalCount: number,
  keyOf: (row: T) => string,
): Connection<T> {
  const page = rows.slice(0, limit);
  const edges = page.map((node) => ({ cursor: encodeCursor(keyOf(node)), node }));
  return {
    edges,
    pageInfo: { hasNextPage: rows.length > limit, endCursor: edges.at(-1)?.cursor ?? null },
    totalCount,
  };
}

/** Cursor of a row in a newest-first list ordered by a date and then the id. */
export const timeCursorKey = (at: Date, id: string) => `${at.toISOString()}|${id}`;

/**
 * The filter for the page after `after` in a newest-first list sorted by `{ [field]: -1, _id: -1 }`,
 * whose cursors are timeCursorKey(row[field], row._id).
 */
export function olderThanCursor(after: string, field: string): Record<string, unknown> {
  const [at, id] = decodeCursor(after).split('|');
  const time = new Date(at ?? '');
  if (!id || Number.isNaN(time.getTime())) {
    throw badUserInput(`"${after}" is not a cursor of this list; pass an endCursor from a previous page`);
  }
  return { $or: [{ [field]: { $lt: time } }, { [field]: time, _id: { $lt: id } }] };
}
