import type { DocumentNode, ExecutionResult, FieldNode, SelectionSetNode } from 'graphql';
import { GraphQLError, Kind, print } from 'graphql';
import type { SubscriptionFeed } from '@waooaw/shared';
import type { EntityAnswer, EntityLookup } from './entities';
import type { KeptAnswers } from './kept';

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
 * `entity` (entities.ts: shared with the entity's audience and batched). `cursor` is asked for only
 * when selected.
 *
 * A whole result is shared too: subscribers of one `audience` (audience.ts) whose subscription
 * selects the same under the same response key get the very same result object for an event (and
 * so one serialisation of it, see serialise.ts), built by whichever pulls it first.
 */
export function payloadBuilder(options: {
  feed: SubscriptionFeed;
  /** The subscription field of the operation, as sent (alias and selection). */
  field: FieldNode;
  document: DocumentNode;
  /** The payload's GraphQL type name (for `__typename`). */
  payloadType: string;
  /** Who may share this subscription's whole results (audience.ts). */
  audience: string;
  /** Whether a selected entity field reads the same for everybody who hears the event (audience.ts). */
  isPublic: (f: FieldNode) => boolean;
  /** Resolves one entity field of the event `eventId`, for everybody or for the caller (see entities.ts). */
  entity: (eventId: string, lookup: EntityLookup, isPublic: boolean) => Promise<EntityAnswer>;
  /** Results kept for the other subscribers of the same audience and selection. */
  shared: KeptAnswers<ExecutionResult>;
}) {
  const { feed, field, document, payloadType } = options;
  const rootKey = field.alias?.value ?? field.name.value;
  const selected = field.selectionSet ? collectFields(field.selectionSet, document) : [];
  // What each selected field needs, worked out once per subscription rather than per event.
  const plan = selected.map((f) => {
    const entity = feed.entities[f.name.value];
    return {
      key: f.alias?.value ?? f.name.value,
      name: f.name.value,
      entity:
        entity && f.selectionSet
          ? {
              idFrom: entity.idFrom,
              rootField: entity.rootField,
              listField: entity.listField,
              selection: print(f.selectionSet),
              fragments: fragmentsOf(f.selectionSet, document),
              isPublic: options.isPublic(f),
            }
          : undefined,
    };
  });
  const selectsCursor = plan.some((p) => p.name === 'cursor');
  // What makes two subscriptions' results alike: the response key, the selection and its fragments.
  const shape = [
    rootKey,
    field.name.value,
    field.selectionSet ? print(field.selectionSet) : '',
    ...(field.selectionSet ? fragmentsOf(field.selectionSet, document) : []),
  ].join('\n');

  const build = async (
    event: { id: string; data: Record<string, unknown> },
    cursorText: string | undefined,
  ): Promise<ExecutionResult> => {
    const { data } = event;
    const payload: Record<string, unknown> = {};
    const errors: GraphQLError[] = [];
    // Every entity of the payload is asked for at once, so they share a batch.
    const answers = plan.map((p) => {
      const id = p.entity ? data[p.entity.idFrom] : undefined;
      // No id: e.g. an instance whose agent discovery does not know yet.
      return p.entity && id !== null && id !== undefined
        ? options.entity(
            event.id,
            {
              rootField: p.entity.rootField,
              ...(p.entity.listField ? { listField: p.entity.listField } : {}),
              selection: p.entity.selection,
              fragments: p.entity.fragments,
              id,
            },
            p.entity.isPublic,
          )
        : undefined;
    });
    for (const [i, p] of plan.entries()) {
      if (p.name === '__typename') payload[p.key] = payloadType;
      else if (p.name === 'cursor') payload[p.key] = cursorText;
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

  return (event: { id: string; data: Record<string, unknown> }, cursor: () => string) => {
    // The cursor is the subscriber's position (after a replay it may differ from another's): part of
    // what must be alike to share.
    const cursorText = selectsCursor ? cursor() : undefined;
    return options.shared.get(`${event.id}\n${options.audience}\n${shape}\n${cursorText ?? ''}`, () =>
      build(event, cursorText),
    );
  };
}
