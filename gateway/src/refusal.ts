import type { GraphQLResponse } from '@apollo/server';
import { HeaderMap } from '@apollo/server';
import type { GraphQLError } from 'graphql';

/**
 * A response that refuses an operation before it runs, for a plugin's responseForOperation (which
 * runs after every didResolveOperation, so it sees every check's result; errors thrown there are
 * not turned into responses, so refusals are returned).
 */
export function refusal(
  error: GraphQLError,
  status: number,
  headers: [string, string][] = [],
): GraphQLResponse {
  return {
    http: { status, headers: new HeaderMap(headers) },
    body: { kind: 'single', singleResult: { errors: [error.toJSON()] } },
  };
}
