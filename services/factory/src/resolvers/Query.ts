import semver from 'semver';
import type { FilterQuery } from 'mongoose';
import { olderThanCursor, pageSize, timeCursorKey, toConnection } from '@waooaw/shared';
import type { QueryResolvers } from '../__generated__/resolvers-types';
import type { BuildModel, BuildRecord } from '../models/build';
import type { DefinitionModel, DefinitionRecord } from '../models/definition';
import { TEMPLATES } from '../templates';

const buildCursor = (b: BuildRecord) => timeCursorKey(b.createdAt, b._id);

export function queryResolvers(models: { definitions: DefinitionModel; builds: BuildModel }): QueryResolvers {
  const { definitions, builds } = models;
  return {
    agentTemplates: () =>
      TEMPLATES.map(({ id, name, description, kind, category }) => ({
        id,
        name,
        description,
        kind,
        category,
      })),

    agentDefinition: async (_parent, { handle, version }, ctx) => {
      if (version) return ctx.loaders.definitionById.load(`${handle}@${version}`);
      const all = await definitions.find({ handle }).lean<DefinitionRecord[]>();
      return all.sort((a, b) => semver.rcompare(a.version, b.version))[0] ?? null;
    },

    agentBuild: (_parent, { id }) => builds.findById(id).lean<BuildRecord>().exec(),

    agentBuilds: async (_parent, { filter, first, after }) => {
      const limit = pageSize(first);
      const query: FilterQuery<BuildRecord> = {};
      if (filter?.handle) query.handle = filter.handle;
      if (filter?.status) query.status = filter.status;
      const page: FilterQuery<BuildRecord> = after
        ? { ...query, ...olderThanCursor(after, 'createdAt') }
        : query;
      const [rows, totalCount] = await Promise.all([
        builds
          .find(page)
          .sort({ createdAt: -1, _id: -1 })
          .limit(limit + 1)
          .lean<BuildRecord[]>(),
        builds.countDocuments(query),
      ]);
      return toConnection(rows, limit, totalCount, buildCursor);
    },

    validateAgentDefinition: (_parent, { yaml }, ctx) => ctx.factory.validate(yaml),
  };
}
