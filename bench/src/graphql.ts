import { DEV_SECRETS } from '@waooaw/shared';
import { signDevToken } from '@waooaw/gateway/server';

export interface GraphQLAnswer<T> {
  status: number;
  data?: T | null;
  errors?: { message: string; extensions?: Record<string, unknown> }[];
}

/** A client of the gateway, as an operator (the bench) or anonymously (browsing). */
export function gatewayClient(url: string, token: string | null) {
  return async function post<T>(
    query: string,
    variables: Record<string, unknown> = {},
    timeoutMs = 30_000,
  ): Promise<GraphQLAnswer<T>> {
    const res = await fetch(url, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...(token ? { authorization: `Bearer ${token}` } : {}) },
      body: JSON.stringify({ query, variables }),
      signal: AbortSignal.timeout(timeoutMs),
    });
    const body = (await res.json().catch(() => ({}))) as Omit<GraphQLAnswer<T>, 'status'>;
    return { status: res.status, ...body };
  };
}

export type GatewayClient = ReturnType<typeof gatewayClient>;

/** A token signed with the platform's development settings (those `npm run token` uses). */
export function devToken(
  sub: string,
  roles: Parameters<typeof signDevToken>[0]['roles'],
  env: NodeJS.ProcessEnv = process.env,
): Promise<string> {
  return signDevToken(
    { sub, roles },
    {
      JWT_SECRET: env.JWT_SECRET ?? DEV_SECRETS.JWT_SECRET,
      JWT_ISSUER: env.JWT_ISSUER ?? 'waooaw',
      JWT_AUDIENCE: env.JWT_AUDIENCE ?? 'waooaw-api',
    },
    '12h',
  );
}

/** The operator token `npm run token -- --role operator --sub bench` would print (same settings). */
export const operatorToken = (env: NodeJS.ProcessEnv = process.env) => devToken('bench', ['operator'], env);

/** Instances of a runtime discovery holds as HEALTHY (the fleet is routable once all are). */
/**
 * Instances of a runtime that are up and taking work: HEALTHY, or DEGRADED (alive, but with recent
 * failures in discovery's window, as instances that were just killed and restarted are for a while).
 */
export async function healthyInstances(post: GatewayClient, runtimeId: string): Promise<number> {
  const res = await post<{ healthy: { totalCount: number }; degraded: { totalCount: number } }>(
    `query($r: String) {
      healthy: serviceInstances(filter: { runtimeId: $r, health: HEALTHY }, first: 1) { totalCount }
      degraded: serviceInstances(filter: { runtimeId: $r, health: DEGRADED }, first: 1) { totalCount }
    }`,
    { r: runtimeId },
  );
  if (!res.data) throw new Error(res.errors?.[0]?.message ?? `gateway answered ${res.status}`);
  return res.data.healthy.totalCount + res.data.degraded.totalCount;
}

/** Whether the composed schema has a Query field (browse needs the marketplace's `listings`). */
export async function hasQueryField(post: GatewayClient, field: string): Promise<boolean> {
  const res = await post<{ __type: { fields: { name: string }[] } | null }>(
    `{ __type(name: "Query") { fields { name } } }`,
  );
  if (res.data?.__type) return res.data.__type.fields.some((f) => f.name === field);
  // Introspection off (production): ask for the field itself and read the validation error.
  const probe = await post(`{ ${field}(first: 1) { totalCount } }`);
  return !(probe.errors ?? []).some((e) => e.message.includes(`Cannot query field "${field}"`));
}

/** Starts a trial of a listed agent as the signed-in customer (an activity event, then a trial task). */
export const START_TRIAL = `mutation($input: StartTrialInput!) { startTrial(input: $input) { id status } }`;
