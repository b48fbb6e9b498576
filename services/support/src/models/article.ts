import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';

export const ARTICLE_STATUSES = ['DRAFT', 'PUBLISHED', 'ARCHIVED'] as const;
export type ArticleStatus = (typeof ARTICLE_STATUSES)[number];

/** A knowledge-base article: L1's WowSupport answers tickets from the PUBLISHED ones. */
export interface ArticleRecord {
  /** A slug (kb-trial-cancel). */
  _id: string;
  title: string;
  body: string;
  tags: string[];
  status: ArticleStatus;
  createdAt: Date;
  updatedAt: Date;
  createdBy: string;
  updatedBy: string;
}

const articleSchema = new Schema<ArticleRecord>(
  {
    _id: String,
    title: { type: String, required: true },
    body: { type: String, required: true },
    tags: { type: [String], default: [] },
    status: { type: String, enum: ARTICLE_STATUSES, required: true },
    createdAt: { type: Date, required: true },
    updatedAt: { type: Date, required: true },
    createdBy: { type: String, required: true },
    updatedBy: { type: String, required: true },
  },
  { collection: 'articles', minimize: false },
);
articleSchema.index({ status: 1, _id: 1 });
articleSchema.index({ updatedAt: -1, _id: -1 });

export type ArticleModel = Model<ArticleRecord>;
export const articleModel = (connection: Connection): ArticleModel =>
  connection.model<ArticleRecord>('KnowledgeArticle', articleSchema);
