import type { Caller } from '@waooaw/shared';

/** The context of one gateway request (also what the in-process audit subgraph receives). */
export interface Context {
  caller: Caller | null;
  requestId: string;
  traceparent: string;
  /** Where the request comes from (the socket peer, or the client a trusted proxy names). */
  ip: string;
  /** The operation's cost, as the limits plugin computed it (rate limits charge by it). */
  queryCost?: number;
  /** The caller as a short-lived token the subgraphs verify (signed once per request). */
  forwardedCaller(): Promise<string>;
}
