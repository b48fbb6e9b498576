import type { DocumentNode, ExecutionResult, FieldNode, SelectionSetNode } from 'graphql';
import { GraphQLError, Kind, print } from 'graphql';
import type { SubscriptionFeed } from '@waooaw/shared';

/** The fields a selection asks for, fragments flattened. */
function collectFields(set: SelectionSetNode, document: DocumentNode): FieldNode[] {
  return set.selections.flatMap((s) => {
    if (s.kind === Kind.FIELD) return [s];
    if (s.kind === Kind.INLINE_FRAGMENT) return collectFields(s.selectionSet, document);
    const fragment = document.definitions.find(
      (d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === s.name.value,
    );
    return fragment && fragment.kind === Kind.FRAGMENT_DEFINITION
      ? collectFields(fragment.selectionSet, document)
      : [];
  });
}

/** The fragment definitions a selection uses, transitively (an entity query must not carry unused ones). */
function fragmentsOf(set: SelectionSetNode, document: DocumentNode, seen = new Set<string>()): string[] {
  const out: string[] = [];
  for (const s of set.selections) {
    if (s.kind === Kind.FIELD && s.selectionSet) out.push(...fragmentsOf(s.selectionSet, document, seen));
    else if (s.kind === Kind.INLINE_FRAGMENT) out.push(...fragmentsOf(s.selectionSet, document, seen));
    else if (s.kind === Kind.FRAGMENT_SPREAD && !seen.has(s.name.value)) {
      seen.add(s.name.value);
      const fragment = document.definitions.find(
        (d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === s.name.value,
      );
      if (fragment && fragment.kind === Kind.FRAGMENT_DEFINITION)
        out.push(print(fragment), ...fragmentsOf(fragment.selectionSet, document, seen));
    }
  }
  return out;
}

/** Runs a query through the gateway's own planning, as the subscriber. */
export type RunQuery = (query: string, variables: Record<string, unknown>) => Promise<ExecutionResult>;

/**
 * Builds the results of one subscription from its feed's events: the payload fields the subscriber
 * selected (fragments flattened), each taken from the event's data by name, or, for an entity
 * (`agent` -> `agent(id: <data.agentId>)`), resolved by a query the gateway plans across the
 * subgraphs with the subscriber's own context. `cursor` is asked for only when selected.
 */
export function payloadBuilder(options: {
  feed: SubscriptionFeed;
  /** The subscription field of the operation, as sent (alias and selection). */
  field: FieldNode;
  document: DocumentNode;
  /** The payload's GraphQL type name (for `__typename`). */
  payloadType: string;
  runQuery: RunQuery;
}) {
  const { feed, field, document, payloadType, runQuery } = options;
  const rootKey = field.alias?.value ?? field.name.value;
  const selected = field.selectionSet ? collectFields(field.selectionSet, document) : [];

  return async (data: Record<string, unknown>, cursor: () => string): Promise<ExecutionResult> => {
    const payload: Record<string, unknown> = {};
    const errors: GraphQLError[] = [];
    for (const f of selected) {
      const key = f.alias?.value ?? f.name.value;
      const entity = feed.entities[f.name.value];
      if (f.name.value === '__typename') payload[key] = payloadType;
      else if (f.name.value === 'cursor') payload[key] = cursor();
      else if (
        entity &&
        f.selectionSet &&
        (data[entity.idFrom] === null || data[entity.idFrom] === undefined)
      )
        payload[key] = null; // e.g. an instance whose agent discovery does not know yet
      else if (entity && f.selectionSet) {
        const query = [
          `query SubscriptionEntity($id: ID!) { value: ${entity.rootField}(id: $id) ${print(f.selectionSet)} }`,
          ...fragmentsOf(f.selectionSet, document),
        ].join('\n');
        const result = await runQuery(query, { id: data[entity.idFrom] });
        payload[key] = (result.data as { value?: unknown } | null | undefined)?.value ?? null;
        for (const err of result.errors ?? [])
          errors.push(new GraphQLError(err.message, { path: [rootKey, key], extensions: err.extensions }));
      } else payload[key] = data[f.name.value] ?? null;
    }
    return { data: { [rootKey]: payload }, ...(errors.length ? { errors } : {}) };
  };
}
