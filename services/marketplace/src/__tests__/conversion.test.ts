import { uniqueName } from '@waooaw/shared/testing';
import type { ConversionStep } from '../conversion';
import { CONVERSION_STEPS, conversionKeyOf } from '../conversion';
import type { PaymentProvider } from '../payments';
import type { Harness } from './harness';
import { BUSINESS, START_TRIAL, startMarketplace, TRIAL } from './harness';

interface Trial {
  id: string;
  status: string;
  subscription: { id: string; status: string } | null;
}

const CONVERT = `mutation($t: ID!, $p: ID!) { convertTrial(trialId: $t, plan: $p) { id plan { id } paymentId trial { id status } } }`;

type Converted = { convertTrial: { id: string; plan: { id: string }; paymentId: string } };

/**
 * Money moves once: a conversion interrupted at any step (a crash, a lost answer from the payment
 * processor) is finished by the next call or the sweep, on the plan first asked for, with one charge.
 * MongoDB and Kafka are real; the crash is a hook that throws, and the external processor is played
 * by a wrapper around the in-process provider.
 */
describe('marketplace: converting a trial, once', () => {
  /** Trial id -> the step to crash before, once. */
  const crashes = new Map<string, ConversionStep>();
  /** Trials whose next charge is taken but its answer lost (the processor's reply never arrives). */
  const loseAnswer = new Set<string>();
  /** Charges the processor was asked for, per trial (retries included). */
  const asked = new Map<string, number>();
  const beforeConversionStep = (step: ConversionStep, trialId: string) => {
    if (crashes.get(trialId) !== step) return;
    crashes.delete(trialId);
    throw new Error(`simulated crash before ${step}`);
  };
  const wrapPayments = (inner: PaymentProvider): PaymentProvider => ({
    async charge(request) {
      const trialId = request.idempotencyKey.replace(/^convert:/, '');
      asked.set(trialId, (asked.get(trialId) ?? 0) + 1);
      const result = await inner.charge(request);
      if (loseAnswer.delete(trialId)) throw new Error('the payment processor did not answer in time');
      return result;
    },
  });

  let m: Harness;
  beforeAll(async () => {
    m = await startMarketplace({ beforeConversionStep, wrapPayments });
  });
  afterAll(() => m.stop());

  const customer = () => uniqueName('cust');
  async function activeTrial(h: Harness, who: string) {
    const agent = await h.registerAgent();
    const started = await h.as(who)<{ startTrial: Trial }>(START_TRIAL, {
      input: { agentId: agent.agentId, businessContext: BUSINESS },
    });
    expect(started.data?.startTrial.status).toBe('ACTIVE');
    return { agent, trial: started.data!.startTrial };
  }
  const convert = (h: Harness, who: string, trialId: string, plan: string) =>
    h.as(who)<Converted>(CONVERT, { t: trialId, p: plan });
  const charges = (h: Harness, who: string) =>
    h.models.payments.countDocuments({ customerId: who, status: 'SUCCEEDED' });
  /** The trial's money and records, all of which must show one conversion. */
  async function expectConvertedOnce(h: Harness, who: string, trialId: string, plan: string) {
    const trial = (await h.as(who)<{ trial: Trial }>(TRIAL, { id: trialId })).data!.trial;
    expect(trial.status).toBe('CONVERTED');
    const subscriptions = await h.models.subscriptions.find({ trialId }).lean();
    expect(subscriptions).toHaveLength(1);
    expect(subscriptions[0]!.plan.id).toBe(plan);
    expect(trial.subscription?.id).toBe(subscriptions[0]!._id);
    const payments = await h.models.payments.find({ customerId: who }).lean();
    expect(payments).toHaveLength(1);
    expect(payments[0]).toMatchObject({
      _id: subscriptions[0]!.paymentId,
      status: 'SUCCEEDED',
      idempotencyKey: conversionKeyOf(trialId),
      amountInr: subscriptions[0]!.priceInr,
    });
    expect(await h.models.activities.countDocuments({ kind: 'SUBSCRIPTION_STARTED', trialId })).toBe(1);
    const stored = await h.models.trials.findById(trialId).lean();
    expect(stored!.conversion).toMatchObject({
      plan: { id: plan },
      paymentId: payments[0]!._id,
      lockedUntil: null,
    });
    expect(stored!.conversion!.completedAt).not.toBeNull();
    return subscriptions[0]!;
  }

  it.each(CONVERSION_STEPS)(
    'finishes with one charge when a crash interrupted it before %s, and a retry on another plan charges nothing',
    async (step) => {
      const who = customer();
      const { trial } = await activeTrial(m, who);
      crashes.set(trial.id, step);
      const crashed = await convert(m, who, trial.id, 'growth');
      expect(crashed.errors?.[0]?.message).toBeDefined();
      expect(crashed.data?.convertTrial ?? null).toBeNull();
      expect(await charges(m, who)).toBe(step === 'CHARGE' ? 0 : 1);

      // The customer changes their mind mid-way: told which plan it is being converted to, charged nothing.
      const other = await convert(m, who, trial.id, 'starter');
      expect(other.errors?.[0]).toMatchObject({
        extensions: { code: 'CONFLICT', plan: 'growth' },
      });
      expect(other.errors?.[0]?.message).toMatch(
        /being converted to the Growth plan .*plan "growth" to finish/,
      );
      expect(await charges(m, who)).toBe(step === 'CHARGE' ? 0 : 1);

      const retried = await convert(m, who, trial.id, 'growth');
      expect(retried.errors).toBeUndefined();
      const subscription = await expectConvertedOnce(m, who, trial.id, 'growth');
      expect(retried.data!.convertTrial).toMatchObject({ id: subscription._id, plan: { id: 'growth' } });

      // Done: the same plan answers with the subscription, another plan with a CONFLICT; no charge.
      expect((await convert(m, who, trial.id, 'growth')).data!.convertTrial.id).toBe(subscription._id);
      const later = await convert(m, who, trial.id, 'starter');
      expect(later.errors?.[0]).toMatchObject({
        extensions: { code: 'CONFLICT', subscriptionId: subscription._id, plan: 'growth' },
      });
      expect(later.errors?.[0]?.message).toMatch(/already converted to the Growth plan/);
      await expectConvertedOnce(m, who, trial.id, 'growth');
    },
  );

  it('charges once when the processor took the money but its answer was lost', async () => {
    const who = customer();
    const { trial } = await activeTrial(m, who);
    loseAnswer.add(trial.id);
    expect((await convert(m, who, trial.id, 'starter')).errors?.[0]?.message).toBeDefined();
    expect(await charges(m, who)).toBe(1);
    expect((await convert(m, who, trial.id, 'growth')).errors?.[0]?.extensions.code).toBe('CONFLICT');
    expect((await convert(m, who, trial.id, 'starter')).errors).toBeUndefined();
    expect(asked.get(trial.id)).toBe(2);
    await expectConvertedOnce(m, who, trial.id, 'starter');
  });

  it('charges once when many conversions of one trial race, on one plan or several', async () => {
    const who = customer();
    const { trial } = await activeTrial(m, who);
    const plans = ['growth', 'growth', 'starter', 'growth', 'starter', 'growth'];
    const answers = await Promise.all(plans.map((plan) => convert(m, who, trial.id, plan)));
    const won = answers.filter((a) => a.data?.convertTrial);
    expect(won.length).toBeGreaterThan(0);
    const plan = won[0]!.data!.convertTrial.plan.id;
    const subscription = await expectConvertedOnce(m, who, trial.id, plan);
    answers.forEach((answer, i) => {
      if (plans[i] === plan) expect(answer.data?.convertTrial.id).toBe(subscription._id);
      else expect(answer.errors?.[0]?.extensions).toMatchObject({ code: 'CONFLICT', plan });
    });
  });

  it('refuses to cancel a trial while it is being converted', async () => {
    const who = customer();
    const { trial } = await activeTrial(m, who);
    crashes.set(trial.id, 'CONVERT');
    await convert(m, who, trial.id, 'growth');
    const cancel = await m.as(who)(`mutation($id: ID!) { cancelTrial(id: $id) { status } }`, {
      id: trial.id,
    });
    expect(cancel.errors?.[0]).toMatchObject({ extensions: { code: 'CONFLICT', plan: 'growth' } });
    expect(cancel.errors?.[0]?.message).toMatch(/being converted .*cancel that subscription instead/);
    expect((await convert(m, who, trial.id, 'growth')).errors).toBeUndefined();
    await expectConvertedOnce(m, who, trial.id, 'growth');
  });

  it('forgets a declined conversion, so the customer can pay another way or pick another plan', async () => {
    const who = 'declined-customer';
    const { trial } = await activeTrial(m, who);
    const declined = await convert(m, who, trial.id, 'growth');
    expect(declined.errors?.[0]?.extensions.code).toBe('PAYMENT_DECLINED');
    expect((await m.models.trials.findById(trial.id).lean())!.conversion).toBeNull();
    // Another plan is tried (and declined again), not refused as a CONFLICT with the first.
    expect((await convert(m, who, trial.id, 'starter')).errors?.[0]?.extensions.code).toBe(
      'PAYMENT_DECLINED',
    );
    expect(await charges(m, who)).toBe(0);
  });

  it('is finished after a restart: by the sweep once the dead caller’s lease ran out, or by the next call', async () => {
    const first = customer();
    const second = customer();
    const swept = await activeTrial(m, first);
    const called = await activeTrial(m, second);
    crashes.set(swept.trial.id, 'SUBSCRIBE');
    crashes.set(called.trial.id, 'CHARGE');
    expect((await convert(m, first, swept.trial.id, 'growth')).errors).toBeDefined();
    expect((await convert(m, second, called.trial.id, 'starter')).errors).toBeDefined();
    await m.stop({ keepData: true });

    // A new process over the same database.
    m = await startMarketplace({ beforeConversionStep, wrapPayments, restartOf: m });
    expect((await m.sweep()).converted).toBe(0);
    // The caller that crashed held the conversion for 30 s; let that lease run out.
    await m.models.trials.updateOne(
      { _id: swept.trial.id },
      { $set: { 'conversion.lockedUntil': new Date(Date.now() - 1000) } },
    );
    expect((await m.sweep()).converted).toBe(1);
    await expectConvertedOnce(m, first, swept.trial.id, 'growth');
    expect(asked.get(swept.trial.id)).toBe(1);

    expect((await convert(m, second, called.trial.id, 'starter')).errors).toBeUndefined();
    await expectConvertedOnce(m, second, called.trial.id, 'starter');
    expect((await m.sweep()).converted).toBe(0);
  });
});
