import { decodeCursor, encodeCursor } from '@waooaw/shared';
import type { ListingRecord } from '../models/listing';
import {
  buildListingQuery,
  escapeRegex,
  LISTED,
  LISTING_SORTS,
  listingCursor,
  queryWords,
} from './listing-query';

const row = (overrides: Partial<ListingRecord> = {}) =>
  ({
    _id: 'agent-b',
    sortRating: 4.5,
    sortPriceLow: 10000,
    sortPriceHigh: 10000,
    popularity: 7,
    sortResponse: 250,
    listedAt: new Date('2025-01-02T03:04:05.000Z'),
    ...overrides,
  }) as ListingRecord;

const codeOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as { extensions: { code: string }; message: string }).extensions.code;
  }
  return 'none';
};
const messageOf = (fn: () => unknown) => {
  try {
    fn();
  } catch (err) {
    return (err as Error).message;
  }
  return '';
};

describe('buildListingQuery', () => {
  it('lists only registered ACTIVE listings, 20 by default, most popular first with the id as tiebreak', () => {
    const q = buildListingQuery({});
    expect(q.where).toEqual(LISTED);
    expect(q.countWhere).toEqual(LISTED);
    expect(q.limit).toBe(20);
    expect(q.sort).toEqual({ popularity: -1, _id: 1 });
  });

  it('turns every filter into a condition', () => {
    const q = buildListingQuery({
      filter: {
        category: 'SALES',
        industry: ' Healthcare ',
        capability: 'content.write-article',
        minRating: 4,
        minPriceInr: 5000,
        maxPriceInr: 15000,
        availableNow: true,
        query: 'Blog  SEO+ blog',
      },
    });
    expect(q.countWhere).toEqual({
      $and: [
        LISTED,
        { category: 'SALES' },
        { industryKeys: 'healthcare' },
        { capabilityNames: 'content.write-article' },
        { sortRating: { $gte: 4 } },
        { minPriceInr: { $ne: null, $gte: 5000, $lte: 15000 } },
        { availableNow: true },
        { searchText: { $regex: 'blog' } },
        { searchText: { $regex: 'seo\\+' } },
      ],
    });
  });

  it('keeps unrated listings when minRating is 0 and filters one-sided price bounds', () => {
    expect(buildListingQuery({ filter: { minRating: 0, maxPriceInr: 9000 } }).countWhere).toEqual({
      $and: [LISTED, { minPriceInr: { $ne: null, $lte: 9000 } }],
    });
    expect(buildListingQuery({ filter: { availableNow: false } }).countWhere).toEqual({
      $and: [LISTED, { availableNow: false }],
    });
  });

  it.each([
    [{ first: 0 }, /first must be between 1 and 100/],
    [{ first: 101 }, /first must be between 1 and 100/],
    [{ filter: { minRating: 6 } }, /minRating must be between 0 and 5/],
    [{ filter: { minPriceInr: -1 } }, /minPriceInr must be 0 or more/],
    [{ filter: { minPriceInr: 20000, maxPriceInr: 10000 } }, /is above filter.maxPriceInr .*swap them/],
    [{ filter: { industry: '  ' } }, /filter.industry is empty/],
    [{ filter: { capability: '' } }, /filter.capability is empty/],
    [{ filter: { query: 'x'.repeat(201) } }, /at most 200 characters/],
    [{ filter: { query: 'a b c d e f g h i j k' } }, /at most 10/],
    [{ after: 'not-a-cursor!' }, /not a cursor/],
  ])('refuses %j with BAD_USER_INPUT saying what to fix', (args, message) => {
    expect(codeOf(() => buildListingQuery(args))).toBe('BAD_USER_INPUT');
    expect(messageOf(() => buildListingQuery(args))).toMatch(message);
  });

  it.each([
    ['RATING', 'sortRating', -1, '$lt', 4.5],
    ['PRICE_LOW_TO_HIGH', 'sortPriceLow', 1, '$gt', 10000],
    ['PRICE_HIGH_TO_LOW', 'sortPriceHigh', -1, '$lt', 10000],
    ['POPULARITY', 'popularity', -1, '$lt', 7],
    ['RESPONSE_TIME', 'sortResponse', 1, '$gt', 250],
  ] as const)('%s sorts on %s and continues after a cursor', (sort, field, direction, op, value) => {
    const first = buildListingQuery({ sort });
    expect(first.sort).toEqual({ [field]: direction, _id: 1 });
    const cursor = first.cursorOf(row());
    const next = buildListingQuery({ sort, after: cursor, filter: { category: 'MARKETING' } });
    expect(next.where).toEqual({
      $and: [
        LISTED,
        { category: 'MARKETING' },
        { $or: [{ [field]: { [op]: value } }, { [field]: value, _id: { $gt: 'agent-b' } }] },
      ],
    });
    // totalCount ignores the cursor.
    expect(next.countWhere).toEqual({ $and: [LISTED, { category: 'MARKETING' }] });
  });

  it('NEWEST pages on the listing date', () => {
    const cursor = listingCursor('NEWEST', row());
    const q = buildListingQuery({ sort: 'NEWEST', after: cursor });
    const at = new Date('2025-01-02T03:04:05.000Z');
    expect(q.sort).toEqual({ listedAt: -1, _id: 1 });
    expect(q.where).toEqual({
      $and: [LISTED, { $or: [{ listedAt: { $lt: at } }, { listedAt: at, _id: { $gt: 'agent-b' } }] }],
    });
  });

  it('makes opaque cursors that only work with their own sort', () => {
    for (const sort of LISTING_SORTS) {
      const cursor = listingCursor(sort, row());
      expect(cursor).not.toContain('agent-b');
      expect(JSON.parse(decodeCursor(cursor))).toEqual([sort, expect.anything(), 'agent-b']);
    }
    const ratingCursor = listingCursor('RATING', row());
    expect(messageOf(() => buildListingQuery({ sort: 'NEWEST', after: ratingCursor }))).toMatch(
      /belongs to sort RATING, not NEWEST/,
    );
    const forged = encodeCursor(JSON.stringify(['RATING', 'high', 'x']));
    expect(codeOf(() => buildListingQuery({ sort: 'RATING', after: forged }))).toBe('BAD_USER_INPUT');
  });
});

describe('free-text search helpers', () => {
  it('splits a query into distinct lower-case words and escapes regex characters', () => {
    expect(queryWords('  SEO  blog seo ')).toEqual(['seo', 'blog']);
    expect(escapeRegex('c++ (a.b)*')).toBe('c\\+\\+ \\(a\\.b\\)\\*');
    expect(new RegExp(escapeRegex('a.b')).test('axb')).toBe(false);
  });
});
