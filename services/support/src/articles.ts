import { z } from 'zod';
import type { Caller, Logger } from '@waooaw/shared';
import {
  conflict,
  InputLimits,
  isDuplicateKey,
  notFound,
  pageSize,
  parseInput,
  requireRole,
} from '@waooaw/shared';
import { isStaff } from './access';
import { rankArticles } from './domain/routing';
import type { SeedArticle } from './knowledge-seed';
import type { ArticleModel, ArticleRecord, ArticleStatus } from './models/article';
import { ARTICLE_STATUSES } from './models/article';

/** Articles loaded at most for matching (no $text on our MongoDB subset: matching happens in code). */
export const MAX_MATCHED_ARTICLES = 1000;

const slug = z
  .string()
  .trim()
  .regex(/^[a-z0-9][a-z0-9-]{1,79}$/, 'must be a slug: lower-case letters, digits and dashes (2-80)');
const tags = z
  .array(
    z
      .string()
      .trim()
      .toLowerCase()
      .min(1, 'tags must not be empty')
      .max(40, 'a tag has at most 40 characters'),
  )
  .max(20, 'at most 20 tags')
  .transform((list) => [...new Set(list)]);
const title = z
  .string()
  .trim()
  .min(3, 'title needs at least 3 characters')
  .max(InputLimits.nameChars, `title has at most ${InputLimits.nameChars} characters`);
const body = z
  .string()
  .trim()
  .min(10, 'body needs at least 10 characters')
  .max(InputLimits.articleBodyChars, `body has at most ${InputLimits.articleBodyChars} characters`);

const createInput = z.object({
  id: slug.nullish(),
  title,
  body,
  tags: tags.nullish(),
  status: z.enum(ARTICLE_STATUSES).nullish(),
});
const updateInput = z.object({
  title: title.nullish(),
  body: body.nullish(),
  tags: tags.nullish(),
  status: z.enum(ARTICLE_STATUSES).nullish(),
});

/** A slug from a title: `kb-` and its words, dashed. */
export const slugOf = (text: string) =>
  `kb-${text
    .toLowerCase()
    .replace(/[^a-z0-9]+/g, '-')
    .replace(/^-+|-+$/g, '')
    .slice(0, 60)
    .replace(/-+$/, '')}`;

/** The knowledge base: operators and admins manage it; everyone reads what is PUBLISHED. */
export function createArticles(deps: { articles: ArticleModel; logger: Logger; clock: () => Date }) {
  const { articles, clock } = deps;

  async function create(caller: Caller | null, input: z.input<typeof createInput>): Promise<ArticleRecord> {
    const who = requireRole(caller, 'operator', 'admin');
    const parsed = parseInput(createInput, input, 'input');
    const id = parsed.id ?? slugOf(parsed.title);
    const now = clock();
    const record: ArticleRecord = {
      _id: id,
      title: parsed.title,
      body: parsed.body,
      tags: parsed.tags ?? [],
      status: parsed.status ?? 'PUBLISHED',
      createdAt: now,
      updatedAt: now,
      createdBy: who.sub,
      updatedBy: who.sub,
    };
    try {
      await articles.create(record);
    } catch (err) {
      if (isDuplicateKey(err))
        throw conflict(`An article with id "${id}" already exists; update it or choose another id`, { id });
      throw err;
    }
    deps.logger.info({ articleId: id, by: who.sub }, 'knowledge article created');
    return record;
  }

  async function update(
    caller: Caller | null,
    id: string,
    input: z.input<typeof updateInput>,
  ): Promise<ArticleRecord> {
    const who = requireRole(caller, 'operator', 'admin');
    const parsed = parseInput(updateInput, input, 'input');
    const changes: Partial<ArticleRecord> = {};
    if (parsed.title) changes.title = parsed.title;
    if (parsed.body) changes.body = parsed.body;
    if (parsed.tags) changes.tags = parsed.tags;
    if (parsed.status) changes.status = parsed.status;
    const updated = await articles
      .findOneAndUpdate(
        { _id: id },
        { $set: { ...changes, updatedAt: clock(), updatedBy: who.sub } },
        { new: true },
      )
      .lean<ArticleRecord>();
    if (!updated) throw notFound('KnowledgeArticle', id);
    deps.logger.info(
      { articleId: id, by: who.sub, fields: Object.keys(changes) },
      'knowledge article updated',
    );
    return updated;
  }

  /** Who sees which statuses: staff every one; everyone else PUBLISHED only. */
  function visibleStatuses(caller: Caller | null, status: ArticleStatus | null | undefined): ArticleStatus[] {
    const staff = caller !== null && isStaff(caller);
    if (!staff) return status && status !== 'PUBLISHED' ? [] : ['PUBLISHED'];
    return status ? [status] : [...ARTICLE_STATUSES];
  }

  async function list(
    caller: Caller | null,
    args: { query?: string | null; status?: ArticleStatus | null; first?: number | null },
  ): Promise<ArticleRecord[]> {
    const limit = pageSize(args.first, 20, 100);
    const statuses = visibleStatuses(caller, args.status);
    if (statuses.length === 0) return [];
    const query = args.query?.trim();
    if (!query)
      return articles
        .find({ status: { $in: statuses } })
        .sort({ updatedAt: -1, _id: -1 })
        .limit(limit)
        .lean<ArticleRecord[]>();
    const candidates = await articles
      .find({ status: { $in: statuses } })
      .sort({ _id: 1 })
      .limit(MAX_MATCHED_ARTICLES)
      .lean<ArticleRecord[]>();
    return rankArticles(query.slice(0, 1000), candidates)
      .filter((r) => r.score > 0)
      .slice(0, limit)
      .map((r) => r.article);
  }

  /** The articles L1 may cite: every PUBLISHED one (bounded). */
  const published = () =>
    articles
      .find({ status: 'PUBLISHED' })
      .sort({ _id: 1 })
      .limit(MAX_MATCHED_ARTICLES)
      .lean<ArticleRecord[]>();

  /**
   * Inserts the seed articles that are missing (`$setOnInsert`): running it again, or on several
   * instances at once, changes nothing, and an operator's edits stay.
   */
  async function seed(list: readonly SeedArticle[]): Promise<number> {
    const now = clock();
    const ops = list.map((a) => ({
      updateOne: {
        filter: { _id: a.id },
        update: {
          $setOnInsert: {
            _id: a.id,
            title: a.title,
            body: a.body,
            tags: a.tags,
            status: a.status ?? 'PUBLISHED',
            createdAt: now,
            updatedAt: now,
            createdBy: 'seed',
            updatedBy: 'seed',
          },
        },
        upsert: true,
      },
    }));
    try {
      const result = await articles.bulkWrite(ops, { ordered: false });
      return result.upsertedCount;
    } catch (err) {
      // Another instance inserted the same seed at the same moment: it is there, which is the point.
      if (isDuplicateKey(err)) return 0;
      throw err;
    }
  }

  return { create, update, list, published, seed, visibleStatuses };
}
export type Articles = ReturnType<typeof createArticles>;
