import type { Caller } from '@waooaw/shared';

/** The context of one gateway request (also what the in-process audit subgraph receives). */
export interface Context {
  caller: Caller | null;
  requestId: string;
  traceparent: string;
  ip: string;
  /** The caller as a short-lived token the subgraphs verify (signed once per request). */
  forwardedCaller(): Promise<string>;
  /** The operation's cost, set by the limits plugin before the rate limiter charges the request. */
  queryCost?: number;
}
