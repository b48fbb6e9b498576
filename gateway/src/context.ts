import type { Caller } from '@waooaw/shared';

/**
 * Marks the context of a query the gateway runs itself to resolve a subscription event's payload
 * (subscriptions/server.ts). A symbol, set only there: a client's request context is built by the
 * gateway from headers and connection params, and nothing a client sends (JSON) can carry a symbol.
 */
export const PAYLOAD_RESOLUTION: unique symbol = Symbol('subscription payload resolution');

/** The context of one gateway request (also what the in-process audit subgraph receives). */
export interface Context {
  caller: Caller | null;
  requestId: string;
  traceparent: string;
  /** Where the request comes from (the socket peer, or the client a trusted proxy names). */
  ip: string;
  /**
   * When the client's token expires (ms since the epoch), if it does: a WebSocket opened with it is
   * closed then.
   */
  expiresAt?: number;
  /**
   * The caller as a short-lived token for the named subgraph, which accepts only tokens for itself.
   * Renewed while the context lives (a WebSocket's context lives as long as its socket).
   */
  forwardedCaller(subgraph: string): Promise<string>;
  /** The operation's cost, set by the limits plugin before the rate limiter charges the request. */
  queryCost?: number;
  /** Set on the gateway's own payload resolutions only (see PAYLOAD_RESOLUTION). */
  [PAYLOAD_RESOLUTION]?: true;
}
