import type { ConstDirectiveNode, DocumentNode, FieldNode, GraphQLSchema, SelectionSetNode } from 'graphql';
import { getNamedType, isObjectType, Kind } from 'graphql';
import type { Caller, SubscriptionFeed } from '@waooaw/shared';
import { collectFields } from './payload';

/*
 * Who may share a resolved subscription payload. Many subscribers hear the same event; resolving its
 * entity fields once per subscriber costs one gateway query each, so subscribers that would get the
 * same answer share one resolution: the same event, the same selection, the same audience. The
 * audience is what the answer can depend on:
 * - `public`: the selection reads only fields that every caller sees alike, so it is resolved once
 *   as an anonymous caller. Which fields those are is declared in the subgraphs' SDL with
 *   `@tag(name: "public")` (on a field, or on a type for the fields that subgraph defines on it),
 *   next to the resolvers that would otherwise have to be read to know.
 * - otherwise the caller itself (its id and roles): a payload that may name a customer's own data is
 *   never shared with anyone else. Staff of one role are not pooled either: nothing declares that a
 *   resolver reads only the caller's roles and not who the caller is.
 */

/** "Type.field" of every field a subgraph declares public. */
export type PublicFields = ReadonlySet<string>;

const isPublicTag = (directives: readonly ConstDirectiveNode[] = []) =>
  directives.some(
    (d) =>
      d.name.value === 'tag' &&
      (d.arguments ?? []).some(
        (a) => a.name.value === 'name' && a.value.kind === Kind.STRING && a.value.value === 'public',
      ),
  );

/** The public fields declared in the subgraphs' SDL (see above). */
export function publicFieldsOf(subgraphSdls: readonly DocumentNode[]): PublicFields {
  const fields = new Set<string>();
  for (const sdl of subgraphSdls)
    for (const def of sdl.definitions) {
      if (def.kind !== Kind.OBJECT_TYPE_DEFINITION && def.kind !== Kind.OBJECT_TYPE_EXTENSION) continue;
      const wholeType = isPublicTag(def.directives);
      for (const field of def.fields ?? [])
        if (wholeType || isPublicTag(field.directives)) fields.add(`${def.name.value}.${field.name.value}`);
    }
  return fields;
}

/**
 * Whether `set`, selected on the object type `typeName`, reads public fields only, through nested
 * selections and fragments. Anything it cannot vouch for (an unknown field, an abstract type) is not
 * public: the price of a wrong "no" is a resolution per caller, of a wrong "yes" a leak.
 */
export function isPublicSelection(
  schema: GraphQLSchema,
  typeName: string,
  set: SelectionSetNode,
  document: DocumentNode,
  publicFields: PublicFields,
): boolean {
  const type = schema.getType(typeName);
  if (!isObjectType(type)) return false;
  return set.selections.every((s) => {
    if (s.kind === Kind.INLINE_FRAGMENT)
      return isPublicSelection(
        schema,
        s.typeCondition?.name.value ?? typeName,
        s.selectionSet,
        document,
        publicFields,
      );
    if (s.kind === Kind.FRAGMENT_SPREAD) {
      const fragment = document.definitions.find(
        (d) => d.kind === Kind.FRAGMENT_DEFINITION && d.name.value === s.name.value,
      );
      return (
        fragment?.kind === Kind.FRAGMENT_DEFINITION &&
        isPublicSelection(
          schema,
          fragment.typeCondition.name.value,
          fragment.selectionSet,
          document,
          publicFields,
        )
      );
    }
    const name = s.name.value;
    if (name === '__typename') return true;
    if (!publicFields.has(`${typeName}.${name}`)) return false;
    if (!s.selectionSet) return true;
    const field = type.getFields()[name];
    return (
      field !== undefined &&
      isPublicSelection(schema, getNamedType(field.type).name, s.selectionSet, document, publicFields)
    );
  });
}

/**
 * Whether the payload field `f` reads the same for everybody who hears the event: a field taken from
 * the event itself, or an entity found by a public root query and read through public fields only.
 */
export function isPublicPayloadField(
  schema: GraphQLSchema,
  feed: SubscriptionFeed,
  f: FieldNode,
  document: DocumentNode,
  publicFields: PublicFields,
): boolean {
  const entity = feed.entities[f.name.value];
  if (!entity || !f.selectionSet) return true; // taken from the event itself, the same for all who hear it
  const root = schema.getQueryType()?.getFields()[entity.rootField];
  return (
    root !== undefined &&
    publicFields.has(`Query.${entity.rootField}`) &&
    // Looked up many at once through the list field, which must then be as public.
    (entity.listField === undefined || publicFields.has(`Query.${entity.listField}`)) &&
    isPublicSelection(schema, getNamedType(root.type).name, f.selectionSet, document, publicFields)
  );
}

/** The audience of what depends on who the caller is: the caller alone (its id and roles). */
export const callerAudience = (caller: Caller | null): string =>
  caller ? `caller:${caller.sub}:${[...caller.roles].sort().join(',')}` : 'anonymous';

/**
 * The audience of one subscription's whole payloads: `public` when every field it selects is public
 * (isPublicPayloadField), else the caller's own. Its entity fields each have their own (a task
 * update's `agent` is public even when its `task` is the caller's).
 */
export function payloadAudience(
  schema: GraphQLSchema,
  feed: SubscriptionFeed,
  field: FieldNode,
  document: DocumentNode,
  caller: Caller | null,
  publicFields: PublicFields,
): string {
  const selected = field.selectionSet ? collectFields(field.selectionSet, document) : [];
  return selected.every((f) => isPublicPayloadField(schema, feed, f, document, publicFields))
    ? 'public'
    : callerAudience(caller);
}
