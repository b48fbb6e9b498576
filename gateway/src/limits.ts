import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import type {
  DocumentNode,
  FragmentDefinitionNode,
  OperationDefinitionNode,
  SelectionSetNode,
} from 'graphql';
import { GraphQLError, Kind } from 'graphql';
import type { ComplexityEstimator } from 'graphql-query-complexity';
import { getComplexity } from 'graphql-query-complexity';
import { ErrorCode } from '@waooaw/shared';

/** Depth of an operation's selection, fragments followed, introspection (`__schema`...) ignored. */
export function operationDepth(document: DocumentNode, operation: OperationDefinitionNode): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions)
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const depthOf = (set: SelectionSetNode | undefined, seen: Set<string>): number => {
    if (!set) return 0;
    let max = 0;
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) {
        if (s.name.value.startsWith('__')) continue;
        max = Math.max(max, 1 + depthOf(s.selectionSet, seen));
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        max = Math.max(max, depthOf(s.selectionSet, seen));
      } else if (!seen.has(s.name.value)) {
        max = Math.max(
          max,
          depthOf(fragments.get(s.name.value)?.selectionSet, new Set([...seen, s.name.value])),
        );
      }
    }
    return max;
  };
  return depthOf(operation.selectionSet, new Set());
}

/** Each field costs 1; a paginated field (`first`) costs its children once per item asked for. */
const pageAwareEstimator: ComplexityEstimator = ({ args, childComplexity }) => {
  const first = typeof args.first === 'number' && args.first > 0 ? args.first : 1;
  return 1 + childComplexity * first;
};

const tooComplex = (message: string, extensions: Record<string, number>) =>
  new GraphQLError(message, {
    extensions: { code: ErrorCode.QUERY_TOO_COMPLEX, ...extensions, http: { status: 400 } },
  });

/** Refuses operations deeper or costlier than the limits, before anything is planned or fetched. */
export function limitsPlugin<C extends BaseContext>(limits: {
  maxDepth: number;
  maxCost: number;
}): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      return {
        async didResolveOperation({ document, operation, schema, request, contextValue }) {
          if (!operation) return; // Apollo has already refused a document without the operation asked for
          const depth = operationDepth(document, operation);
          if (depth > limits.maxDepth) {
            throw tooComplex(
              `The query is ${depth} levels deep; the limit is ${limits.maxDepth}. Split it into smaller queries.`,
              {
                depth,
                maxDepth: limits.maxDepth,
              },
            );
          }
          const cost = getComplexity({
            schema,
            query: document,
            ...(operation.name ? { operationName: operation.name.value } : {}),
            variables: request.variables ?? {},
            estimators: [pageAwareEstimator],
          });
          (contextValue as { queryCost?: number }).queryCost = cost;
          if (cost > limits.maxCost) {
            throw tooComplex(
              `The query costs ${cost}; the limit is ${limits.maxCost}. Ask for fewer items (first) or fewer fields.`,
              {
                cost,
                maxCost: limits.maxCost,
              },
            );
          }
        },
      };
    },
  };
}
