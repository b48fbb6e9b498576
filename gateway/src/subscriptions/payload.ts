import type { DocumentNode, ExecutionResult, FieldNode, SelectionSetNode } from 'graphql';
import { GraphQLError, Kind, print } from 'graphql';
import type { SubscriptionFeed } from '@waooaw/shared';
import type { EntityAnswer, EntityLookup } from './entities';

/** The fields a selection asks for, fragments flattened. */
export function collectFields(set: SelectionSetNode, document: DocumentNode): FieldNode[] {
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

/**
 * Builds the results of one subscription from its feed's events: the payload fields the subscriber
 * selected (fragments flattened), each taken from the event's data by name, or, for an entity
 * (`agent` -> `agent(id: <data.agentId>)`), resolved through the gateway's own query planning by
 * `entity` (entities.ts: shared with the subscription's audience and batched). `cursor` is asked for
 * only when selected.
 */
export function payloadBuilder(options: {
  feed: SubscriptionFeed;
  /** The subscription field of the operation, as sent (alias and selection). */
  field: FieldNode;
  document: DocumentNode;
  /** The payload's GraphQL type name (for `__typename`). */
  payloadType: string;
  /** Resolves one entity field of the event `eventId` (see entities.ts). */
  entity: (eventId: string, lookup: EntityLookup) => Promise<EntityAnswer>;
}) {
  const { feed, field, document, payloadType } = options;
  const rootKey = field.alias?.value ?? field.name.value;
  // What each selected field needs, worked out once per subscription rather than per event.
  const plan = (field.selectionSet ? collectFields(field.selectionSet, document) : []).map((f) => {
    const entity = feed.entities[f.name.value];
    return {
      key: f.alias?.value ?? f.name.value,
      name: f.name.value,
      entity:
        entity && f.selectionSet
          ? {
              idFrom: entity.idFrom,
              rootField: entity.rootField,
              selection: print(f.selectionSet),
              fragments: fragmentsOf(f.selectionSet, document),
            }
          : undefined,
    };
  });

  return async (
    event: { id: string; data: Record<string, unknown> },
    cursor: () => string,
  ): Promise<ExecutionResult> => {
    const { data } = event;
    const payload: Record<string, unknown> = {};
    const errors: GraphQLError[] = [];
    // Every entity of the payload is asked for at once, so they share a batch.
    const answers = plan.map((p) => {
      const id = p.entity ? data[p.entity.idFrom] : undefined;
      // No id: e.g. an instance whose agent discovery does not know yet.
      return p.entity && id !== null && id !== undefined
        ? options.entity(event.id, {
            rootField: p.entity.rootField,
            selection: p.entity.selection,
            fragments: p.entity.fragments,
            id,
          })
        : undefined;
    });
    for (const [i, p] of plan.entries()) {
      if (p.name === '__typename') payload[p.key] = payloadType;
      else if (p.name === 'cursor') payload[p.key] = cursor();
      else if (p.entity) {
        const answer = await answers[i];
        payload[p.key] = answer?.value ?? null;
        for (const err of answer?.errors ?? [])
          errors.push(
            new GraphQLError(err.message, {
              path: [rootKey, p.key, ...(err.path ?? [])],
              ...(err.extensions ? { extensions: err.extensions } : {}),
            }),
          );
      } else payload[p.key] = data[p.name] ?? null;
    }
    return { data: { [rootKey]: payload }, ...(errors.length ? { errors } : {}) };
  };
}
