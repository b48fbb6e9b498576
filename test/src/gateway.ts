import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { Client, ExecutionResult } from 'graphql-ws';
import type { Connection } from 'mongoose';
import type { Role } from '@waooaw/shared';
import { createMetrics } from '@waooaw/shared';
import { pollFor, testKafka, testLogger, uniqueName } from '@waooaw/shared/testing';
import type { GatewayDeps } from '@waooaw/gateway/server';
import { createGateway, signDevToken, SUBSCRIPTIONS_LISTENING_METRIC } from '@waooaw/gateway/server';

/** The JWT settings of the gateways the platform tests start. */
export const TEST_JWT = {
  JWT_SECRET: 'e2e-client-jwt-secret-long-enough-for-hs256',
  JWT_ISSUER: 'waooaw',
  JWT_AUDIENCE: 'waooaw-api',
};

export type GatewayConfig = GatewayDeps['config'];

/** A gateway in process on an ephemeral port, in front of the given subgraph URLs. */
export async function startTestGateway(options: {
  urls: Record<string, string>;
  callerSecret: string;
  connection: Connection;
  config?: Partial<GatewayConfig>;
  /** WAOOAW_NAMESPACE of the platform it fronts (its subscription feeds); default: the test run's. */
  namespace?: string;
}) {
  const metrics = createMetrics('gateway');
  const { service } = createGateway({
    config: {
      NODE_ENV: 'development',
      CALLER_TOKEN_SECRET: options.callerSecret,
      ...TEST_JWT,
      JWT_JWKS_URL: undefined,
      INTROSPECTION: undefined,
      MAX_QUERY_DEPTH: 15,
      MAX_QUERY_COST: 2000,
      MAX_QUERY_ALIASES: 30,
      MAX_QUERY_DIRECTIVES: 50,
      MAX_QUERY_TOKENS: 500,
      RATE_LIMIT_PER_MINUTE: 6000,
      RATE_LIMIT_BURST: 1000,
      RATE_LIMIT_COST_PER_TOKEN: 100,
      TRUSTED_PROXIES: [],
      SUBSCRIPTION_MAX_BUFFERED: 1000,
      SUBSCRIPTION_RESUME_MAX_AGE_SECONDS: 86_400,
      KAFKA_GROUP_PREFIX: '',
      CALLER_TOKEN_TTL_SECONDS: 60,
      WS_MAX_PAYLOAD_BYTES: 1024 * 1024,
      WS_MAX_SUBSCRIPTIONS_PER_SOCKET: 50,
      WS_MAX_CONNECTIONS_PER_CALLER: 20,
      WS_MAX_SUBSCRIPTIONS_PER_CALLER: 200,
      SUBSCRIPTION_RESOLVE_CONCURRENCY: 64,
      ...options.config,
    },
    urls: options.urls,
    logger: testLogger(),
    metrics,
    connection: options.connection,
    ...testKafka(options.namespace),
  });
  const base = await service.start(0, '127.0.0.1');
  /** Subscriptions of this gateway that began hearing their feed so far. */
  const listening = async () => {
    const metric = metrics.registry.getSingleMetric(SUBSCRIPTIONS_LISTENING_METRIC);
    const values = metric ? (await metric.get()).values : [];
    return values.reduce((sum, v) => sum + v.value, 0);
  };
  return {
    service,
    /** The gateway's metrics (what its /metrics serves). */
    registry: metrics.registry,
    listening,
    httpUrl: `${base}/graphql`,
    wsUrl: `${base.replace('http://', 'ws://')}/graphql`,
    /**
     * Call before subscribing; the wait it returns resolves once `count` more subscriptions hear their
     * feed, so that an event caused after it reaches them (graphql-ws does not acknowledge a subscribe).
     */
    whenListening: async (count = 1): Promise<() => Promise<void>> => {
      const before = await listening();
      return async () => {
        await pollFor(async () => (await listening()) >= before + count, {
          what: `${count} more subscription(s) to hear their feed`,
        });
      };
    },
  };
}

export interface GraphQLResponse<T> {
  status: number;
  body: {
    data?: T | null;
    errors?: { message: string; path?: (string | number)[]; extensions: Record<string, unknown> }[];
  };
}

/** An error as a graphql-ws client receives it. */
export type GraphQLErrorJson = { message: string; extensions?: Record<string, unknown> };

/**
 * Subscribes on a graphql-ws client: `events` fills as they arrive, `failed` with the errors when the
 * operation is refused or fails; `dispose` completes it.
 */
export function subscribeCollecting<T>(
  client: Client,
  query: string,
  variables: Record<string, unknown> = {},
) {
  const events: ExecutionResult<T>[] = [];
  const failed: GraphQLErrorJson[][] = [];
  const dispose = client.subscribe<T>(
    { query, variables },
    {
      next: (value) => void events.push(value as ExecutionResult<T>),
      error: (errors) => void failed.push(errors as GraphQLErrorJson[]),
      complete: () => undefined,
    },
  );
  return { events, failed, dispose };
}

/** A client's token, signed as the gateway's identity provider would. */
export const tokenFor = (roles: Role[], sub = 'user-1') => signDevToken({ sub, roles }, TEST_JWT);

/** POSTs one operation to a gateway, as a client with the bearer token (or anonymously). */
export async function postGraphQL<T>(
  endpoint: string,
  query: string,
  variables: Record<string, unknown> = {},
  auth?: string,
): Promise<GraphQLResponse<T>> {
  const res = await fetch(endpoint, {
    method: 'POST',
    headers: { 'content-type': 'application/json', ...(auth ? { authorization: `Bearer ${auth}` } : {}) },
    body: JSON.stringify({ query, variables }),
  });
  return { status: res.status, body: (await res.json()) as GraphQLResponse<T>['body'] };
}

/** The catalogue's wow-care-content definition, which the flows submit under handles of their own. */
const SAMPLE_DEFINITION = readFileSync(
  path.resolve(__dirname, '../../agents/definitions/wow-care-content.yaml'),
  'utf8',
);

/**
 * Submits the sample definition under a new handle (`<prefix>-<unique>`) with activation, through the
 * gateway at `endpoint` as `operator`, and waits until its build has produced the agent.
 */
export async function buildActiveAgent(endpoint: string, operator: string, prefix: string) {
  const handle = uniqueName(prefix).toLowerCase();
  const built = await postGraphQL<{ submitAgentDefinition: { id: string } }>(
    endpoint,
    `mutation($y: String!) { submitAgentDefinition(yaml: $y, activate: true) { id } }`,
    { y: SAMPLE_DEFINITION.replace('handle: wow-care-content', `handle: ${handle}`) },
    operator,
  );
  const buildId = built.body.data!.submitAgentDefinition.id;
  const agentId = await pollFor(
    async () => {
      const r = await postGraphQL<{ agentBuild: { status: string; agent: { id: string } | null } }>(
        endpoint,
        `query($id: ID!) { agentBuild(id: $id) { status agent { id } } }`,
        { id: buildId },
      );
      return r.body.data?.agentBuild.status === 'SUCCEEDED' ? r.body.data.agentBuild.agent!.id : undefined;
    },
    { what: 'the agent to be built' },
  );
  return { handle, agentId };
}
