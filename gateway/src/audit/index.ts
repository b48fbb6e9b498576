import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ApolloServerPlugin } from '@apollo/server';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { FilterQuery } from 'mongoose';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { Kind, OperationTypeNode, parse } from 'graphql';
import type { Logger } from '@waooaw/shared';
import { olderThanCursor, pageSize, requireRole, timeCursorKey, toConnection } from '@waooaw/shared';
import type { Resolvers } from '../__generated__/resolvers-types';
import type { Context } from '../context';
import type { AuditModel, AuditRecord } from './model';

const SECRET_KEY = /password|secret|token|authorization|card/i;
const MAX_VALUE = 500;

/** Variables as recorded: secrets masked, long strings (a YAML definition...) shortened. */
export function redact(value: unknown, key = ''): unknown {
  if (SECRET_KEY.test(key)) return '[redacted]';
  if (typeof value === 'string')
    return value.length > MAX_VALUE ? `${value.slice(0, MAX_VALUE)}... (${value.length} chars)` : value;
  if (Array.isArray(value)) return value.map((v) => redact(v));
  if (value && typeof value === 'object')
    return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, redact(v, k)]));
  return value;
}

const cursorOf = (e: AuditRecord) => timeCursorKey(e.at, e._id);

/**
 * The audit log: a plugin records every mutation request once its response is known (who, which
 * mutation fields, variables, outcome and error codes), and the `audit` subgraph, served inside
 * the gateway, lets admins read it.
 */
export function createAudit(audit: AuditModel, logger: Logger) {
  const resolvers: Resolvers = {
    DateTime: DateTimeResolver,
    JSON: JSONResolver,
    AuditEntry: { id: (e) => e._id },
    Query: {
      auditLog: async (_parent, { filter, first, after }, ctx) => {
        requireRole(ctx.caller, 'admin');
        const limit = pageSize(first);
        const query: FilterQuery<AuditRecord> = {};
        if (filter?.actor) query.actor = filter.actor;
        if (filter?.mutation) query.mutations = filter.mutation;
        if (filter?.outcome) query.outcome = filter.outcome;
        if (filter?.since) query.at = { $gte: new Date(filter.since) };
        const page: FilterQuery<AuditRecord> = after ? { ...query, ...olderThanCursor(after, 'at') } : query;
        const [rows, totalCount] = await Promise.all([
          audit
            .find(page)
            .sort({ at: -1, _id: -1 })
            .limit(limit + 1)
            .lean<AuditRecord[]>(),
          audit.countDocuments(query),
        ]);
        return toConnection(rows, limit, totalCount, cursorOf);
      },
    },
  };
  const typeDefs = parse(readFileSync(path.resolve(__dirname, '../../../schemas/audit.graphql'), 'utf8'));
  const schema = buildSubgraphSchema([{ typeDefs, resolvers }]);

  const plugin: ApolloServerPlugin<Context> = {
    async requestDidStart() {
      return {
        async willSendResponse({ operation, contextValue, request, response }) {
          if (operation?.operation !== OperationTypeNode.MUTATION) return;
          const errors = response.body.kind === 'single' ? (response.body.singleResult.errors ?? []) : [];
          const codeOf = (code: unknown) => (typeof code === 'string' ? code : 'INTERNAL_SERVER_ERROR');
          const codes = [...new Set(errors.map((e) => codeOf(e.extensions?.code)))];
          const entry: AuditRecord = {
            _id: randomUUID(),
            at: new Date(),
            actor: contextValue.caller?.sub ?? 'anonymous',
            roles: contextValue.caller?.roles ?? [],
            operationName: operation.name?.value ?? null,
            mutations: operation.selectionSet.selections.flatMap((s) =>
              s.kind === Kind.FIELD ? [s.name.value] : [],
            ),
            variables: redact(request.variables ?? {}) as Record<string, unknown>,
            outcome: errors.length > 0 ? 'FAILED' : 'SUCCEEDED',
            errorCodes: codes,
            requestId: contextValue.requestId,
          };
          // Awaited: the response leaves only once its audit entry is stored.
          await audit
            .create(entry)
            .catch((err: unknown) => logger.error({ err, entry }, 'audit entry could not be stored'));
        },
      };
    },
  };
  return { schema, plugin };
}
