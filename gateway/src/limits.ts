import type { ApolloServerPlugin, BaseContext } from '@apollo/server';
import { ApolloServerErrorCode } from '@apollo/server/errors';
import { maxAliasesRule } from '@escape.tech/graphql-armor-max-aliases';
import { maxDepthRule } from '@escape.tech/graphql-armor-max-depth';
import { maxDirectivesRule } from '@escape.tech/graphql-armor-max-directives';
import type {
  DocumentNode,
  FieldNode,
  FragmentDefinitionNode,
  GraphQLField,
  GraphQLNamedType,
  GraphQLSchema,
  OperationDefinitionNode,
  SelectionSetNode,
} from 'graphql';
import {
  getNamedType,
  getOperationAST,
  GraphQLError,
  GraphQLInt,
  isInterfaceType,
  isObjectType,
  Kind,
  OperationTypeNode,
  parse,
  SchemaMetaFieldDef,
  TypeMetaFieldDef,
  TypeNameMetaFieldDef,
  validate,
  valueFromAST,
} from 'graphql';
import { DEFAULT_PAGE_SIZE, ErrorCode } from '@waooaw/shared';
import { PAYLOAD_RESOLUTION } from './context';

/** What one operation asks of the gateway: every measure is linear in the document's size. */
export interface OperationMeasures {
  /** Levels of nested fields, fragments followed, introspection fields included. */
  depth: number;
  aliases: number;
  directives: number;
  /** Fields the operation may resolve, a paginated field's children counted once per item of its page. */
  cost: number;
}

export interface QueryLimits {
  maxDepth: number;
  maxCost: number;
  maxAliases: number;
  maxDirectives: number;
}

/** The definition of a field selected on `parent` (the meta fields too: `__schema`, `__type`, `__typename`). */
function fieldDefinition(
  schema: GraphQLSchema,
  parent: GraphQLNamedType | undefined,
  name: string,
): GraphQLField<unknown, unknown> | undefined {
  if (name === TypeNameMetaFieldDef.name) return TypeNameMetaFieldDef;
  if (parent === schema.getQueryType()) {
    if (name === SchemaMetaFieldDef.name) return SchemaMetaFieldDef;
    if (name === TypeMetaFieldDef.name) return TypeMetaFieldDef;
  }
  return isObjectType(parent) || isInterfaceType(parent) ? parent.getFields()[name] : undefined;
}

/**
 * Items a field returns per the page it asks for: `first` (literal or variable), else the argument's
 * schema default, else the page size the resolvers use when `first` is absent (pageSize() in
 * @waooaw/shared), so leaving `first` out costs what asking for the default page does. Fields
 * without a `first` argument count once.
 */
function itemsAsked(
  definition: GraphQLField<unknown, unknown> | undefined,
  node: FieldNode,
  variables: Record<string, unknown>,
): number {
  const argument = definition?.args.find((a) => a.name === 'first');
  if (!argument) return 1;
  const given = node.arguments?.find((a) => a.name.value === 'first');
  const value: unknown = given ? valueFromAST(given.value, GraphQLInt, variables) : undefined;
  const first =
    typeof value === 'number'
      ? value
      : typeof argument.defaultValue === 'number'
        ? argument.defaultValue
        : DEFAULT_PAGE_SIZE;
  // A page below 1 is refused by the resolver (BAD_USER_INPUT); cost it as one item meanwhile.
  return Math.max(1, first);
}

/**
 * The cost of an operation: 1 per field, plus its children's cost times the items it returns. Each
 * fragment's cost is computed once and reused wherever it is spread, so a document whose fragments
 * each spread the next one twice is measured in time linear in its size (its cost still doubles
 * per level, and is refused). graphql-query-complexity and GraphQL Armor's cost-limit do not fit
 * here: see docs/adr/0003-request-limits.md.
 */
export function operationCost(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> = {},
): number {
  const fragments = new Map<string, FragmentDefinitionNode>();
  for (const d of document.definitions)
    if (d.kind === Kind.FRAGMENT_DEFINITION) fragments.set(d.name.value, d);
  const fragmentCosts = new Map<string, number>();

  const selectionCost = (set: SelectionSetNode, parent: GraphQLNamedType | undefined): number => {
    let total = 0;
    for (const s of set.selections) {
      if (s.kind === Kind.FIELD) {
        const definition = fieldDefinition(schema, parent, s.name.value);
        const children = s.selectionSet
          ? selectionCost(s.selectionSet, definition ? getNamedType(definition.type) : undefined)
          : 0;
        total += 1 + children * itemsAsked(definition, s, variables);
      } else if (s.kind === Kind.INLINE_FRAGMENT) {
        // Fragments on different types of a union or interface are added up: an upper bound.
        const type = s.typeCondition ? schema.getType(s.typeCondition.name.value) : parent;
        total += selectionCost(s.selectionSet, type);
      } else {
        total += fragmentCost(s.name.value);
      }
    }
    return total;
  };
  const fragmentCost = (name: string): number => {
    const known = fragmentCosts.get(name);
    if (known !== undefined) return known;
    // Validation has refused fragment cycles already; the 0 only keeps a cycle from recursing forever.
    fragmentCosts.set(name, 0);
    const fragment = fragments.get(name);
    const cost = fragment
      ? selectionCost(fragment.selectionSet, schema.getType(fragment.typeCondition.name.value))
      : 0;
    fragmentCosts.set(name, cost);
    return cost;
  };

  return selectionCost(operation.selectionSet, rootType(schema, operation));
}

function rootType(schema: GraphQLSchema, operation: OperationDefinitionNode) {
  if (operation.operation === OperationTypeNode.MUTATION) return schema.getMutationType() ?? undefined;
  if (operation.operation === OperationTypeNode.SUBSCRIPTION)
    return schema.getSubscriptionType() ?? undefined;
  return schema.getQueryType() ?? undefined;
}

/**
 * Measures one operation of a document. Depth, aliases and directives are GraphQL Armor's counts
 * (their walkers remember each fragment's count, so they are linear too); Armor only measures here
 * (its limit is set out of reach) and the plugin decides, so every refusal has the same shape.
 */
export function measureOperation(
  schema: GraphQLSchema,
  document: DocumentNode,
  operation: OperationDefinitionNode,
  variables: Record<string, unknown> = {},
): OperationMeasures {
  // Armor measures every operation of the document it is given: give it only the one asked for.
  const single: DocumentNode = {
    ...document,
    definitions: document.definitions.filter((d) => d === operation || d.kind === Kind.FRAGMENT_DEFINITION),
  };
  const measured = { depth: 0, aliases: 0, directives: 0 };
  const record =
    (key: keyof typeof measured) =>
    (_context: unknown, details: { n: number }): void => {
      measured[key] = Math.max(measured[key], details.n);
    };
  const measureOnly = { n: Number.MAX_SAFE_INTEGER, propagateOnRejection: false };
  validate(schema, single, [
    // Introspection counts: `__type { fields { type { fields ... } } }` nests as deep as any query.
    maxDepthRule({
      ...measureOnly,
      ignoreIntrospection: false,
      flattenFragments: true,
      onAccept: [record('depth')],
    }),
    maxAliasesRule({ ...measureOnly, onAccept: [record('aliases')] }),
    maxDirectivesRule({ ...measureOnly, onAccept: [record('directives')] }),
  ]);
  return { ...measured, cost: operationCost(schema, document, operation, variables) };
}

/** The error of an operation over a limit: 400, QUERY_TOO_COMPLEX, the measure and the limit. */
const tooComplex = (message: string, extensions: Record<string, number>) =>
  new GraphQLError(message, {
    extensions: { code: ErrorCode.QUERY_TOO_COMPLEX, ...extensions, http: { status: 400 } },
  });

/** The refusal for the first limit the operation is over, if any. */
export function checkLimits(measures: OperationMeasures, limits: QueryLimits): GraphQLError | undefined {
  const { depth, aliases, directives, cost } = measures;
  if (depth > limits.maxDepth)
    return tooComplex(
      `The query is ${depth} levels deep; the limit is ${limits.maxDepth}. Split it into smaller queries.`,
      { depth, maxDepth: limits.maxDepth },
    );
  if (aliases > limits.maxAliases)
    return tooComplex(
      `The query has ${aliases} aliases; the limit is ${limits.maxAliases}. Send fewer aliased fields per request.`,
      { aliases, maxAliases: limits.maxAliases },
    );
  if (directives > limits.maxDirectives)
    return tooComplex(
      `The query has ${directives} directives; the limit is ${limits.maxDirectives}. Use fewer @include/@skip directives.`,
      { directives, maxDirectives: limits.maxDirectives },
    );
  if (cost > limits.maxCost) {
    // A fragment bomb's cost can outgrow exact integers (even reach Infinity): cap what is shown.
    const exact = Number.isSafeInteger(cost);
    const shown = exact ? cost : Number.MAX_SAFE_INTEGER;
    return tooComplex(
      `The query costs ${exact ? '' : 'more than '}${shown}; the limit is ${limits.maxCost}. Ask for fewer items (first) or fewer fields.`,
      { cost: shown, maxCost: limits.maxCost },
    );
  }
  return undefined;
}

/**
 * The same limits for an operation that does not go through Apollo Server's pipeline (graphql-ws
 * subscribe messages): parsed with the token limit, then measured. Answers the errors to send
 * back, or undefined to let the operation go on (an invalid document is left to the caller's own
 * parsing and validation, which report it).
 */
export function refuseOverLimits(
  schema: GraphQLSchema,
  request: { query: string; operationName?: string | null; variables?: Record<string, unknown> | null },
  limits: QueryLimits & { maxTokens: number },
): GraphQLError[] | undefined {
  let document: DocumentNode;
  try {
    document = parse(request.query, { maxTokens: limits.maxTokens });
  } catch (error) {
    const match = error instanceof GraphQLError ? TOKEN_LIMIT.exec(error.message) : null;
    if (!match) return undefined;
    return [
      new GraphQLError(tokenLimitMessage(limits.maxTokens), {
        extensions: { code: ApolloServerErrorCode.GRAPHQL_PARSE_FAILED, maxTokens: limits.maxTokens },
      }),
    ];
  }
  const operation = getOperationAST(document, request.operationName ?? undefined);
  if (!operation) return undefined;
  const refusal = checkLimits(measureOperation(schema, document, operation, request.variables ?? {}), limits);
  return refusal ? [refusal] : undefined;
}

const tokenLimitMessage = (maxTokens: number) =>
  `The document has more than ${maxTokens} tokens, the limit; send a smaller document (fewer fields, or values as variables).`;

/** graphql-js's message when a document has more tokens than ApolloServer's parseOptions.maxTokens. */
const TOKEN_LIMIT = /Document contains more that? (\d+) tokens/;

/**
 * Limits graphql-js and the query planner enforce themselves, which reach the client as a bare
 * "Validation aborted." or (the planner's) an internal error: the operation asks for too much.
 */
const LIBRARY_LIMITS: { pattern: RegExp; message: string }[] = [
  {
    // graphql-js's validation budget (overlapping fields, fragment work) ran out.
    pattern: /^Validation aborted\.$/,
    message:
      'The query is too large to validate: it repeats the same fields or fragments too often. Send fewer repeated fields, aliases or fragment spreads.',
  },
  {
    // Not reached within the default limits (the cost check refuses such documents first); kept so
    // an operator who raises them still gets a typed answer. Not covered by a test.
    pattern: /^Number of non-local selections exceeds limit of \d+|^Too many options generated for/,
    message:
      'The query asks for too many fields across services to plan. Ask for fewer nested fields (or fewer fragments) per request.',
  },
];

/**
 * Deepest nesting accepted in a request's variables. A JSON argument (agent metadata, a task's input)
 * is stored as a MongoDB document, which allows 100 levels at most, and the audit log keeps 32; a
 * deeper value could only fail later, inside a subgraph, as an internal error.
 */
export const MAX_VARIABLE_DEPTH = 32;

/** Whether `value` nests deeper than `max` levels: iterative, and stops at the first path past it. */
export function nestsDeeperThan(value: unknown, max: number): boolean {
  const stack: { value: unknown; depth: number }[] = [{ value, depth: 0 }];
  while (stack.length > 0) {
    const { value: v, depth } = stack.pop()!;
    if (v === null || typeof v !== 'object') continue;
    if (depth >= max) return true;
    for (const child of Object.values(v)) stack.push({ value: child, depth: depth + 1 });
  }
  return false;
}

/** What the limits plugin leaves on the request context (the rate limiter charges by cost). */
export interface CostedContext {
  queryCost?: number;
  /** Set on the gateway's own payload resolutions (see context.ts). */
  [PAYLOAD_RESOLUTION]?: true;
}

/**
 * Refuses operations deeper, costlier or with more aliases or directives than the limits, before
 * anything is planned or fetched, and leaves the operation's cost on the context (`queryCost`) for
 * the rate limiter. List it before the rate limiter: Apollo starts the plugins' didResolveOperation
 * in list order, and this one sets `queryCost` before its first await.
 */
export function limitsPlugin<C extends BaseContext & CostedContext>(
  limits: QueryLimits,
): ApolloServerPlugin<C> {
  return {
    async requestDidStart() {
      return {
        async parsingDidStart() {
          return async (error?: Error) => {
            // The token limit itself is graphql-js's (ApolloServer parseOptions.maxTokens: it stops
            // reading at the limit). Its message only says parsing was aborted; say what to do.
            // Apollo wraps this very error as GRAPHQL_PARSE_FAILED (400) after this hook returns.
            const match = error instanceof GraphQLError ? TOKEN_LIMIT.exec(error.message) : null;
            if (!error || !match) return;
            const maxTokens = Number(match[1]);
            error.message = tokenLimitMessage(maxTokens);
            Object.assign((error as GraphQLError).extensions, { maxTokens });
          };
        },
        async didEncounterErrors({ errors }) {
          // Apollo formats these errors, and takes the HTTP status from them, after this hook.
          for (const error of errors) {
            const known = LIBRARY_LIMITS.find((l) => l.pattern.test(error.message));
            if (!known) continue;
            error.message = known.message;
            Object.assign(error.extensions, {
              code: ErrorCode.QUERY_TOO_COMPLEX,
              http: { status: 400 },
            });
          }
        },
        async didResolveOperation({ document, operation, schema, request, contextValue }) {
          if (!operation) return; // Apollo has already refused a document without the operation asked for
          if (nestsDeeperThan(request.variables ?? {}, MAX_VARIABLE_DEPTH + 1))
            throw new GraphQLError(
              `The variables nest deeper than ${MAX_VARIABLE_DEPTH} levels; flatten the value you send`,
              {
                extensions: {
                  code: ErrorCode.BAD_USER_INPUT,
                  maxDepth: MAX_VARIABLE_DEPTH,
                  http: { status: 400 },
                },
              },
            );
          const measures = measureOperation(schema, document, operation, request.variables ?? {});
          contextValue.queryCost = measures.cost;
          // The gateway's own batched payload queries (subscriptions/entities.ts) hold many entities,
          // each a selection that passed these limits when its subscription was accepted; their
          // size is bounded there (entities per batch, tokens), not by one client operation's limits.
          if (contextValue[PAYLOAD_RESOLUTION]) return;
          const refusal = checkLimits(measures, limits);
          if (refusal) throw refusal;
        },
      };
    },
  };
}
