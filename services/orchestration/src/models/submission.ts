/**
 * What workflows and sagas both record about who submitted them and when: one definition, so the
 * access checks (the customer's own, staff's all), the quota and the revision guard read the same
 * fields on both.
 */
export interface SubmissionFields {
  /** The customer it runs for (null: submitted by staff for the platform). */
  customerId: string | null;
  submittedBy: string;
  roles: string[];
  /** The revision guard's counter (shared/src/mongo/revision.ts). */
  rev: number;
  createdAt: Date;
  updatedAt: Date;
  completedAt: Date | null;
}

/** The mongoose paths of SubmissionFields, spread into each schema. */
export const submissionSchemaFields = {
  customerId: { type: String, default: null },
  submittedBy: { type: String, required: true },
  roles: { type: [String], default: [] },
  rev: { type: Number, default: 0 },
  createdAt: { type: Date, required: true },
  updatedAt: { type: Date, required: true },
  completedAt: { type: Date, default: null },
};
