import { demoBusinessFor, headlineOf, readMetadata, sampleTaskId, searchTextOf } from './listing';

describe('listing fields', () => {
  it('takes the first sentence of the description as the headline', () => {
    expect(headlineOf('A content marketer for clinics. Writes articles.')).toBe(
      'A content marketer for clinics.',
    );
    expect(headlineOf('Helps with v1.2 releases! More text')).toBe('Helps with v1.2 releases!');
    expect(headlineOf('No sentence end here')).toBe('No sentence end here');
    expect(headlineOf(`${'x'.repeat(300)}`)).toHaveLength(200);
  });

  it('reads persona and INR pricing from identity metadata, tolerating missing or bad metadata', () => {
    const read = readMetadata({
      persona: { tagline: 'Patient-first content', statusLine: 'Drafting a blog' },
      pricing: {
        currency: 'INR',
        trialDays: 5,
        plans: [{ id: 'starter', name: 'Starter', monthlyPrice: 10000, features: ['4 articles'] }],
      },
    });
    expect(read).toEqual({
      persona: { tagline: 'Patient-first content', statusLine: 'Drafting a blog' },
      plans: [{ id: 'starter', name: 'Starter', monthlyPriceInr: 10000, features: ['4 articles'] }],
      trialDays: 5,
    });
    expect(readMetadata({ pricing: { currency: 'USD', plans: [] } })).toEqual({
      persona: { tagline: '', statusLine: '' },
      plans: [],
      trialDays: 7,
    });
  });

  it('builds lower-case search text that finds capability words too', () => {
    const text = searchTextOf({
      name: 'WowCare Content',
      handle: 'wow-care-content',
      specialization: 'Healthcare content',
      tags: ['seo-content'],
      industries: ['Healthcare'],
      capabilityNames: ['content.write-article'],
    });
    expect(text).toContain('wowcare content');
    expect(text).toContain('seo content');
    expect(text).toContain('write article');
    expect(text).toBe(text.toLowerCase());
  });

  it('makes a fictitious business for samples and a valid sample task id', () => {
    expect(demoBusinessFor(['healthcare', 'wellness'])).toMatchObject({
      industry: 'healthcare',
      city: 'Pune',
    });
    expect(demoBusinessFor(['real-estate']).businessName).toBe('Demo Real Estate Co.');
    expect(demoBusinessFor([]).industry).toBe('services');
    expect(sampleTaskId('a-1', '2.0.0-rc.1+build.5')).toBe('sample.a-1.2.0.0-rc.1_build.5');
  });
});
