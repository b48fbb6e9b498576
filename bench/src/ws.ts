import { createClient } from 'graphql-ws';
import type { Client, ClientOptions } from 'graphql-ws';
import WebSocket from 'ws';

/** The gateway's graphql-ws address for its HTTP GraphQL address (same host, port and path). */
export const wsUrlOf = (httpUrl: string) => httpUrl.replace(/^http/, 'ws');

/**
 * A graphql-ws client of the gateway signed in with `token` (sent as connection_init's
 * authorization, as browsers must), connecting at once and never retrying by itself: the bench
 * decides what a closed socket means (chaos reconnects with a cursor, live counts the close code).
 */
export function gatewaySocket(
  wsUrl: string,
  token: string,
  options: Partial<Pick<ClientOptions, 'keepAlive' | 'on'>> = {},
): Client {
  return createClient({
    url: wsUrl,
    webSocketImpl: WebSocket,
    connectionParams: { authorization: `Bearer ${token}` },
    retryAttempts: 0,
    lazy: false,
    onNonLazyError: () => undefined,
    ...options,
  });
}

/** The stable code of a GraphQL error (`extensions.code`), else its message. */
export function errorCodeOf(error: { message?: unknown; extensions?: Record<string, unknown> } | undefined) {
  const code = error?.extensions?.code;
  if (typeof code === 'string') return code;
  return typeof error?.message === 'string' ? error.message : 'error';
}
