import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import type { ApolloServerPlugin } from '@apollo/server';
import { buildSubgraphSchema } from '@apollo/subgraph';
import type { FilterQuery } from 'mongoose';
import { DateTimeResolver, JSONResolver } from 'graphql-scalars';
import { GraphQLError, OperationTypeNode, parse } from 'graphql';
import type { Logger } from '@waooaw/shared';
import {
  ErrorCode,
  olderThanCursor,
  pageSize,
  requireRole,
  timeCursorKey,
  toConnection,
} from '@waooaw/shared';
import type { Resolvers } from '../__generated__/resolvers-types';
import type { Context } from '../context';
import { rootFields } from '../operation-fields';
import { refusal } from '../refusal';
import type { AuditModel, AuditRecord } from './model';

const SECRET_KEY = /password|secret|token|authorization|card/i;
const MAX_VALUE = 500;
/**
 * Levels of nesting kept in an entry: deeper values are replaced by a marker. Well under MongoDB's
 * limit of 100 levels per document, and a walk this deep is cheap.
 */
export const MAX_RECORDED_DEPTH = 32;
export const TOO_DEEP = `[nested deeper than ${MAX_RECORDED_DEPTH} levels]`;

/** Sets a key as an own property, `__proto__` included (plain assignment would set the prototype). */
const put = (target: Record<string, unknown>, key: string, value: unknown) =>
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });

/**
 * Values as recorded: secrets masked, long strings (a YAML definition...) shortened, anything nested
 * deeper than MAX_RECORDED_DEPTH replaced by a marker. Iterative (an explicit stack), so a client's
 * 3,000-level JSON costs a short walk instead of overflowing the call stack.
 */
export function redact(value: unknown): unknown {
  const root: Record<string, unknown> = {};
  const stack: { value: unknown; key: string; depth: number; into: Record<string, unknown> | unknown[] }[] = [
    { value, key: 'value', depth: 0, into: root },
  ];
  for (let item = stack.pop(); item; item = stack.pop()) {
    const { key, depth, into } = item;
    let out: unknown = item.value;
    if (into !== root && SECRET_KEY.test(key)) out = '[redacted]';
    else if (typeof out === 'string' && out.length > MAX_VALUE)
      out = `${out.slice(0, MAX_VALUE)}... (${out.length} chars)`;
    else if (out !== null && typeof out === 'object' && !(out instanceof Date)) {
      const source = out;
      if (depth >= MAX_RECORDED_DEPTH) out = TOO_DEEP;
      else if (Array.isArray(source)) {
        out = new Array<unknown>(source.length);
        source.forEach((v, i) =>
          stack.push({ value: v, key: String(i), depth: depth + 1, into: out as unknown[] }),
        );
      } else {
        out = {};
        for (const [k, v] of Object.entries(source))
          stack.push({ value: v, key: k, depth: depth + 1, into: out as Record<string, unknown> });
      }
    }
    if (Array.isArray(into)) into[Number(key)] = out;
    else put(into, key, out);
  }
  return root.value;
}

const cursorOf = (e: AuditRecord) => timeCursorKey(e.at, e._id);

/**
 * The audit log: a plugin records every mutation field of every request (who, which field, its
 * resolved arguments), stored before the mutation runs and completed with the outcome and error
 * codes once the response is known; the `audit` subgraph, served inside the gateway, lets admins
 * read it.
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
        if (filter?.mutation) query.mutation = filter.mutation;
        if (filter?.requestId) query.requestId = filter.requestId;
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
      let entries: AuditRecord[] = [];
      /** Whether the PENDING entries are stored (the mutation was then let through to run). */
      let written = false;
      return {
        async didResolveOperation({ schema, document, operation, request, contextValue }) {
          if (operation?.operation !== OperationTypeNode.MUTATION) return;
          const at = new Date();
          entries = rootFields(schema, document, operation, request.variables).map((field) => ({
            _id: randomUUID(),
            at,
            actor: contextValue.caller?.sub ?? 'anonymous',
            roles: contextValue.caller?.roles ?? [],
            operationName: operation.name?.value ?? null,
            mutation: field.name,
            responseKey: field.responseKey,
            arguments: redact(field.args) as Record<string, unknown>,
            outcome: 'PENDING',
            errorCodes: [],
            requestId: contextValue.requestId,
            completedAt: null,
          }));
        },
        // After every plugin's checks passed, just before the mutation runs: its entries are
        // stored first (durably, see the model), or it does not run at all.
        async responseForOperation() {
          if (entries.length === 0) return null;
          try {
            await audit.insertMany(entries, { ordered: true });
            written = true;
            return null;
          } catch (err) {
            logger.error({ err, requestId: entries[0]?.requestId }, 'audit entries could not be stored');
            return refusal(
              new GraphQLError(
                'The audit log cannot be written right now, so the mutation was not run; retry in a moment',
                { extensions: { code: ErrorCode.AUDIT_UNAVAILABLE } },
              ),
              503,
            );
          }
        },
        async willSendResponse({ response }) {
          if (entries.length === 0) return;
          const body = response.body;
          const errors =
            (body.kind === 'single' ? body.singleResult.errors : body.initialResult.errors) ?? [];
          const completedAt = new Date();
          const outcomes = entries.map((entry) => {
            // A field's own errors (path from its response key) and the request's (no path).
            const mine = errors.filter((e) => !e.path?.length || e.path[0] === entry.responseKey);
            const errorCodes = [
              ...new Set(
                mine.map((e) =>
                  typeof e.extensions?.code === 'string' ? e.extensions.code : 'INTERNAL_SERVER_ERROR',
                ),
              ),
            ];
            return {
              _id: entry._id,
              outcome: mine.length > 0 ? ('FAILED' as const) : ('SUCCEEDED' as const),
              errorCodes,
              completedAt,
            };
          });
          const done = written
            ? audit.bulkWrite(
                outcomes.map(({ _id, ...outcome }) => ({
                  updateOne: { filter: { _id }, update: { $set: outcome } },
                })),
              )
            : // Refused before it could run (rate limit, limits, the audit log itself): recorded as such.
              audit.insertMany(entries.map((entry, i) => ({ ...entry, ...outcomes[i] })));
          // Awaited: the response leaves once its outcome is stored. A failure here leaves the
          // PENDING entries (the mutation is recorded, only its outcome is missing).
          await done.catch((err: unknown) =>
            logger.error(
              { err, requestId: entries[0]?.requestId, outcomes },
              'audit outcome could not be stored',
            ),
          );
        },
      };
    },
  };
  return { schema, plugin };
}
