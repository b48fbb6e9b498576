import DataLoader from 'dataloader';

/**
 * A per-request loader of entities by id: all ids asked for during one tick are fetched with one
 * query, and results come back in the order asked, `null` for ids that do not exist.
 */
export function createByIdLoader<V>(
  fetch: (ids: readonly string[]) => Promise<V[]>,
  idOf: (value: V) => string,
): DataLoader<string, V | null> {
  return new DataLoader<string, V | null>(async (ids) => {
    const found = new Map((await fetch(ids)).map((v) => [idOf(v), v]));
    return ids.map((id) => found.get(id) ?? null);
  });
}

/**
 * A per-request loader of child lists (one-to-many): one query for all parents, each parent gets the
 * children whose key matches, in the order the query returned them.
 */
export function createGroupLoader<V>(
  fetch: (keys: readonly string[]) => Promise<V[]>,
  keyOf: (value: V) => string,
): DataLoader<string, V[]> {
  return new DataLoader<string, V[]>(async (keys) => {
    const groups = new Map<string, V[]>();
    for (const value of await fetch(keys)) {
      const key = keyOf(value);
      const list = groups.get(key);
      if (list) list.push(value);
      else groups.set(key, [value]);
    }
    return keys.map((key) => groups.get(key) ?? []);
  });
}
