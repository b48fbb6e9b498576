/** Codes a subgraph gives input it refuses: the caller's to fix, not the gateway's. */
const CALLER_INPUT_CODES = new Set(['GRAPHQL_VALIDATION_FAILED', 'BAD_USER_INPUT']);

interface SubgraphResponse {
  status?: unknown;
  body?: { errors?: { message?: unknown; extensions?: { code?: unknown } }[] };
}

/**
 * The caller's error inside a subgraph's HTTP 400, when the subgraph refused the operation for its
 * input: a custom scalar's value (a `DateTime` literal that is no date, say). The gateway validates
 * every operation against the supergraph, whose custom scalars accept any literal, so only the
 * subgraph that owns the field can tell; Apollo Gateway reports its 400 as a failed fetch, which
 * would reach the caller as an internal error. Anything else in a 400 (or another status) stays the
 * gateway's problem: null.
 */
export function callerInputRefusal(
  extensions: Record<string, unknown>,
): { message: string; code: string } | null {
  const response = extensions.response as SubgraphResponse | undefined;
  if (response?.status !== 400) return null;
  const errors = response.body?.errors ?? [];
  if (errors.length === 0) return null;
  if (!errors.every((e) => CALLER_INPUT_CODES.has(String(e.extensions?.code)))) return null;
  const first = errors[0]!;
  return {
    message: typeof first.message === 'string' ? first.message : 'The operation has an invalid value',
    code: String(first.extensions?.code),
  };
}
