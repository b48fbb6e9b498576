import type { FilterQuery } from 'mongoose';
import { badUserInput, decodeCursor, encodeCursor, pageSize } from '@waooaw/shared';
import type { ListingRecord } from '../models/listing';

export const LISTING_SORTS = [
  'RATING',
  'PRICE_LOW_TO_HIGH',
  'PRICE_HIGH_TO_LOW',
  'POPULARITY',
  'RESPONSE_TIME',
  'NEWEST',
] as const;
export type ListingSort = (typeof LISTING_SORTS)[number];
export const DEFAULT_LISTING_SORT: ListingSort = 'POPULARITY';

export interface ListingFilterInput {
  category?: string | null;
  industry?: string | null;
  capability?: string | null;
  minRating?: number | null;
  minPriceInr?: number | null;
  maxPriceInr?: number | null;
  availableNow?: boolean | null;
  query?: string | null;
}

type SortField = 'sortRating' | 'sortPriceLow' | 'sortPriceHigh' | 'popularity' | 'sortResponse' | 'listedAt';

/** Each sort is one stored key (never null) and a direction, then the id ascending as the tiebreak. */
const SORTS: Record<ListingSort, { field: SortField; direction: 1 | -1 }> = {
  RATING: { field: 'sortRating', direction: -1 },
  PRICE_LOW_TO_HIGH: { field: 'sortPriceLow', direction: 1 },
  PRICE_HIGH_TO_LOW: { field: 'sortPriceHigh', direction: -1 },
  POPULARITY: { field: 'popularity', direction: -1 },
  RESPONSE_TIME: { field: 'sortResponse', direction: 1 },
  NEWEST: { field: 'listedAt', direction: -1 },
};

export const MAX_QUERY_LENGTH = 200;
export const MAX_QUERY_WORDS = 10;

/** Listings anyone may browse: registered, ACTIVE, and announced as listed. */
export const LISTED: FilterQuery<ListingRecord> = {
  registered: true,
  status: 'ACTIVE',
  listedAt: { $ne: null },
};

export const escapeRegex = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** The words of a free-text query, lower-case, each at most once. */
export function queryWords(query: string): string[] {
  return [...new Set(query.toLowerCase().split(/\s+/).filter(Boolean))];
}

/** The conditions of a filter (BAD_USER_INPUT naming the argument when one makes no sense). */
export function listingConditions(
  filter: ListingFilterInput | null | undefined,
): FilterQuery<ListingRecord>[] {
  const conditions: FilterQuery<ListingRecord>[] = [LISTED];
  if (!filter) return conditions;
  if (filter.category) conditions.push({ category: filter.category });
  if (filter.industry !== null && filter.industry !== undefined) {
    const industry = filter.industry.trim().toLowerCase();
    if (!industry)
      throw badUserInput('filter.industry is empty; give an industry such as healthcare', {
        field: 'filter.industry',
      });
    conditions.push({ industryKeys: industry });
  }
  if (filter.capability !== null && filter.capability !== undefined) {
    const capability = filter.capability.trim();
    if (!capability)
      throw badUserInput('filter.capability is empty; give a capability name such as content.write-article', {
        field: 'filter.capability',
      });
    conditions.push({ capabilityNames: capability });
  }
  if (filter.minRating !== null && filter.minRating !== undefined) {
    if (!Number.isFinite(filter.minRating) || filter.minRating < 0 || filter.minRating > 5)
      throw badUserInput('filter.minRating must be between 0 and 5', { field: 'filter.minRating' });
    if (filter.minRating > 0) conditions.push({ sortRating: { $gte: filter.minRating } });
  }
  const { minPriceInr: min, maxPriceInr: max } = filter;
  for (const [name, value] of [
    ['minPriceInr', min],
    ['maxPriceInr', max],
  ] as const) {
    if (value !== null && value !== undefined && value < 0)
      throw badUserInput(`filter.${name} must be 0 or more (INR per month)`, { field: `filter.${name}` });
  }
  if (min !== null && min !== undefined && max !== null && max !== undefined && min > max)
    throw badUserInput(`filter.minPriceInr (${min}) is above filter.maxPriceInr (${max}); swap them`, {
      field: 'filter.minPriceInr',
    });
  if ((min !== null && min !== undefined) || (max !== null && max !== undefined)) {
    conditions.push({
      minPriceInr: {
        $ne: null,
        ...(min !== null && min !== undefined ? { $gte: min } : {}),
        ...(max !== null && max !== undefined ? { $lte: max } : {}),
      },
    });
  }
  if (filter.availableNow !== null && filter.availableNow !== undefined)
    conditions.push({ availableNow: filter.availableNow });
  if (filter.query !== null && filter.query !== undefined) {
    if (filter.query.length > MAX_QUERY_LENGTH)
      throw badUserInput(`filter.query is too long; use at most ${MAX_QUERY_LENGTH} characters`, {
        field: 'filter.query',
      });
    const words = queryWords(filter.query);
    if (words.length > MAX_QUERY_WORDS)
      throw badUserInput(`filter.query has ${words.length} words; use at most ${MAX_QUERY_WORDS}`, {
        field: 'filter.query',
      });
    // No $text index (docs/architecture.md): every word must occur in the precomputed lower-case text.
    for (const word of words) conditions.push({ searchText: { $regex: escapeRegex(word) } });
  }
  return conditions;
}

type CursorValue = number | string;

/** The sort key of a row as it goes into a cursor (dates as ISO strings). */
function sortValueOf(row: Pick<ListingRecord, SortField | '_id'>, field: SortField): CursorValue {
  const value = row[field];
  if (value instanceof Date) return value.toISOString();
  return value ?? 0;
}

/** Cursors carry the sort they belong to, its key and the id: opaque, and checked when read back. */
export function listingCursor(sort: ListingSort, row: Pick<ListingRecord, SortField | '_id'>): string {
  return encodeCursor(JSON.stringify([sort, sortValueOf(row, SORTS[sort].field), row._id]));
}

function readCursor(sort: ListingSort, after: string): { value: number | Date; id: string } {
  const key = decodeCursor(after);
  let parsed: unknown;
  try {
    parsed = JSON.parse(key);
  } catch {
    parsed = null;
  }
  if (!Array.isArray(parsed) || parsed.length !== 3 || typeof parsed[2] !== 'string')
    throw badUserInput(`"${after}" is not a cursor of listings; pass an endCursor from a previous page`, {
      field: 'after',
    });
  const [cursorSort, value, id] = parsed as [unknown, unknown, string];
  if (cursorSort !== sort)
    throw badUserInput(
      `This cursor belongs to sort ${String(cursorSort)}, not ${sort}; pass an endCursor of a page with the same sort`,
      { field: 'after' },
    );
  if (SORTS[sort].field === 'listedAt') {
    const at = typeof value === 'string' ? new Date(value) : new Date(Number.NaN);
    if (Number.isNaN(at.getTime()))
      throw badUserInput(`"${after}" is not a cursor of listings; pass an endCursor from a previous page`, {
        field: 'after',
      });
    return { value: at, id };
  }
  if (typeof value !== 'number' || !Number.isFinite(value))
    throw badUserInput(`"${after}" is not a cursor of listings; pass an endCursor from a previous page`, {
      field: 'after',
    });
  return { value, id };
}

export interface ListingQuery {
  /** The page's filter (the filter plus "after the cursor"). */
  where: FilterQuery<ListingRecord>;
  /** The filter without the cursor, for totalCount. */
  countWhere: FilterQuery<ListingRecord>;
  sort: Record<string, 1 | -1>;
  /** Rows to show; fetch one more to know whether there is a next page. */
  limit: number;
  cursorOf(row: ListingRecord): string;
}

/** Builds the MongoDB query of one page of `listings` (keyset pagination, stable for every sort). */
export function buildListingQuery(args: {
  filter?: ListingFilterInput | null;
  sort?: ListingSort | null;
  first?: number | null;
  after?: string | null;
}): ListingQuery {
  const sort = args.sort ?? DEFAULT_LISTING_SORT;
  const spec = SORTS[sort];
  if (!spec) throw badUserInput(`Unknown sort ${String(sort)}; use one of ${LISTING_SORTS.join(', ')}`);
  const limit = pageSize(args.first);
  const conditions = listingConditions(args.filter);
  const countWhere: FilterQuery<ListingRecord> =
    conditions.length === 1 ? conditions[0]! : { $and: conditions };
  let where = countWhere;
  if (args.after !== null && args.after !== undefined) {
    const { value, id } = readCursor(sort, args.after);
    const beyond = spec.direction === 1 ? { $gt: value } : { $lt: value };
    where = {
      $and: [...conditions, { $or: [{ [spec.field]: beyond }, { [spec.field]: value, _id: { $gt: id } }] }],
    };
  }
  return {
    where,
    countWhere,
    sort: { [spec.field]: spec.direction, _id: 1 },
    limit,
    cursorOf: (row) => listingCursor(sort, row),
  };
}
