import type { Connection, Model } from 'mongoose';
import { Schema } from 'mongoose';

export interface DefinitionRecord {
  /** `<handle>@<version>`: one definition per handle and version. */
  _id: string;
  handle: string;
  version: string;
  name: string;
  template: string;
  kind: string;
  category: string;
  yaml: string;
  sha256: string;
  document: Record<string, unknown>;
  agentId: string | null;
  createdAt: Date;
}

const definitionSchema = new Schema<DefinitionRecord>(
  {
    _id: String,
    handle: { type: String, required: true },
    version: { type: String, required: true },
    name: { type: String, required: true },
    template: { type: String, required: true },
    kind: { type: String, required: true },
    category: { type: String, required: true },
    yaml: { type: String, required: true },
    sha256: { type: String, required: true },
    document: { type: Schema.Types.Mixed, required: true },
    agentId: { type: String, default: null },
    createdAt: { type: Date, required: true },
  },
  { collection: 'definitions', minimize: false },
);
definitionSchema.index({ handle: 1, createdAt: -1 });
definitionSchema.index({ agentId: 1, createdAt: -1 });

export type DefinitionModel = Model<DefinitionRecord>;
export const definitionModel = (connection: Connection): DefinitionModel =>
  connection.model<DefinitionRecord>('Definition', definitionSchema);
