import type { ApolloServerPlugin } from '@apollo/server';
import type { Registry } from 'prom-client';
import { Histogram } from 'prom-client';
import { boundedLabel } from '@waooaw/shared';
import type { Context } from './context';
import { PAYLOAD_RESOLUTION } from './context';

/** The histogram of GraphQL operations the gateway answered (see operationMetricsPlugin). */
export const OPERATION_DURATION_METRIC = 'waooaw_graphql_operation_duration_seconds';
/** Operation names with a series of their own; later names share `(other)`. */
export const MAX_OPERATION_NAMES = 100;
/** Longer names are clients' inventions, not the operations an operator watches: `(other)`. */
const MAX_NAME_LENGTH = 64;

/**
 * Times every GraphQL operation, from the request's arrival to its response, by operation name,
 * type (query, mutation, subscription) and outcome: `success` (no errors), `partial` (data with
 * errors: a subgraph unavailable), `error` (no data: refused, invalid, failed). An operation that
 * never resolved (does not parse or validate) is named `(invalid)`; an unnamed one `(anonymous)`.
 *
 * Operation names are chosen by clients, so they are bounded (boundedLabel): the first
 * MAX_OPERATION_NAMES distinct names keep theirs, then `(other)`. Only operations that validated
 * against the schema take a place. The gateway's own payload resolutions for subscriptions are left
 * out: waooaw_gateway_subscription_resolutions_total counts those.
 */
export function operationMetricsPlugin(registry: Registry): ApolloServerPlugin<Context> {
  const duration = new Histogram({
    name: OPERATION_DURATION_METRIC,
    help: 'GraphQL operations answered by the gateway, by operation name, type and outcome (success, partial, error)',
    labelNames: ['operation', 'type', 'outcome'],
    buckets: [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10],
    registers: [registry],
  });
  const nameLabel = boundedLabel(MAX_OPERATION_NAMES);
  return {
    async requestDidStart({ contextValue }) {
      if (contextValue[PAYLOAD_RESOLUTION]) return;
      const started = process.hrtime.bigint();
      let operation = '(invalid)';
      let type = 'unknown';
      return {
        async didResolveOperation({ operationName, operation: resolved }) {
          type = resolved?.operation ?? 'unknown';
          operation = !operationName
            ? '(anonymous)'
            : operationName.length > MAX_NAME_LENGTH
              ? '(other)'
              : nameLabel(operationName);
        },
        async willSendResponse({ response }) {
          let outcome = 'success';
          if (response.body.kind === 'single') {
            const { errors, data } = response.body.singleResult;
            if (errors?.length) outcome = data ? 'partial' : 'error';
          }
          const seconds = Number(process.hrtime.bigint() - started) / 1e9;
          duration.observe({ operation, type, outcome }, seconds);
        },
      };
    },
  };
}
