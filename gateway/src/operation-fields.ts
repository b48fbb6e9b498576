import type { DocumentNode, FragmentDefinitionNode, GraphQLSchema, OperationDefinitionNode } from 'graphql';
import { Kind } from 'graphql';
// graphql-js's own field collection and argument coercion (what execution uses), so the fields and
// arguments we charge and audit are exactly the ones that run. Pinned with graphql 16.
import { collectFields } from 'graphql/execution/collectFields';
import { getArgumentValues, getVariableValues } from 'graphql/execution/values';

/** One field of an operation's root type, as execution will run it. */
export interface RootField {
  /** `Query`, `Mutation` or `Subscription`. */
  parentType: string;
  name: string;
  /** The key it answers under: its alias, or its name. */
  responseKey: string;
  /** Its arguments as resolved: inline literals and variables, defaults applied. */
  args: Record<string, unknown>;
}

/**
 * The root fields an operation runs: fragments and inline fragments flattened, `@skip`/`@include`
 * applied, one per response key (200 aliases of one mutation are 200 fields), `__typename` left out.
 * Arguments that cannot be resolved (variables that fail coercion, which execution refuses anyway)
 * come back as `{}`.
 */
export function rootFields(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  rawVariables: Record<string, unknown> | undefined,
): RootField[] {
  const rootType = schema.getRootType(operation.operation);
  if (!rootType) return [];
  const fragments: Record<string, FragmentDefinitionNode> = {};
  for (const d of document.definitions) if (d.kind === Kind.FRAGMENT_DEFINITION) fragments[d.name.value] = d;
  const coerced = getVariableValues(schema, operation.variableDefinitions ?? [], rawVariables ?? {});
  const variables = coerced.coerced ?? {};
  const fieldDefs = rootType.getFields();
  const fields: RootField[] = [];
  for (const [responseKey, nodes] of collectFields(
    schema,
    fragments,
    variables,
    rootType,
    operation.selectionSet,
  )) {
    const node = nodes[0];
    const def = node ? fieldDefs[node.name.value] : undefined;
    if (!node || !def) continue; // __typename (and nothing else: the document is validated)
    let args: Record<string, unknown> = {};
    try {
      args = coerced.coerced ? getArgumentValues(def, node, variables) : {};
    } catch {
      // An argument execution will refuse with its own typed error; nothing more to record here.
    }
    fields.push({ parentType: rootType.name, name: def.name, responseKey, args });
  }
  return fields;
}
