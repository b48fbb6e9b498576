import { createHash, randomUUID } from 'node:crypto';
import { isDuplicateKey } from '@waooaw/shared';
import type { PaymentModel, PaymentRecord, PaymentStatus } from './models/payment';

export interface ChargeRequest {
  customerId: string;
  amountInr: number;
  description: string;
  /** The same key charged again returns the first successful payment instead of charging twice. */
  idempotencyKey: string;
}

export interface ChargeResult {
  paymentId: string;
  status: PaymentStatus;
  /** Why a charge was declined. */
  reason?: string;
}

/**
 * The port to whoever takes the money (a card processor in production). The marketplace never sees
 * or stores card data: it asks for a charge and keeps the payment id. A provider must honour the
 * idempotency key: the same key answers with the first successful charge, never takes a second
 * (a declined charge does not use the key up).
 */
export interface PaymentProvider {
  charge(request: ChargeRequest): Promise<ChargeResult>;
}

/**
 * The in-process provider: it approves charges (or declines those `decline` picks, a stand-in for
 * a card that is refused) and records every attempt in the marketplace's database.
 */
export function createInProcessPayments(deps: {
  payments: PaymentModel;
  clock: () => Date;
  /** A reason to decline this charge, or null to approve it. */
  decline?: (request: ChargeRequest) => string | null;
}): PaymentProvider {
  return {
    async charge(request) {
      if (!Number.isInteger(request.amountInr) || request.amountInr < 0)
        throw new Error(`cannot charge ${request.amountInr} INR`);
      const successId = `pay-${createHash('sha256').update(request.idempotencyKey).digest('hex').slice(0, 24)}`;
      const previous = await deps.payments.findById(successId).lean<PaymentRecord>();
      if (previous) {
        // As card processors do: a key names one charge; reusing it for another amount is a bug.
        if (previous.amountInr !== request.amountInr)
          throw new Error(
            `idempotency key ${request.idempotencyKey} was used for ${previous.amountInr} INR; it cannot charge ${request.amountInr} INR`,
          );
        return { paymentId: previous._id, status: previous.status };
      }
      const reason = deps.decline?.(request) ?? null;
      const record: PaymentRecord = {
        // Only a successful payment takes the key's id: a declined one may be retried later.
        _id: reason ? `pay-${randomUUID()}` : successId,
        customerId: request.customerId,
        amountInr: request.amountInr,
        description: request.description,
        idempotencyKey: request.idempotencyKey,
        status: reason ? 'DECLINED' : 'SUCCEEDED',
        reason,
        createdAt: deps.clock(),
      };
      try {
        await deps.payments.create(record);
      } catch (err) {
        // The same key charged concurrently: the first payment stands.
        if (isDuplicateKey(err)) return { paymentId: successId, status: 'SUCCEEDED' };
        throw err;
      }
      return { paymentId: record._id, status: record.status, ...(reason ? { reason } : {}) };
    },
  };
}
