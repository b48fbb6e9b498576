import { parseAmount, pct } from './kit/numbers';
import type { Block } from './kit/render';
import { bullets, markdownResult, table } from './kit/render';
import type { CapabilityImpl } from './kit/request';
import { askOf, detailList, detailString } from './kit/request';
import { afterColon, contentWords, fit, titleCase, tokenize, topTerms } from './kit/text';

export interface KeywordDensity {
  keyword: string;
  count: number;
  /** Occurrences per 100 words, one decimal. */
  density: number;
  verdict: 'missing' | 'low' | 'good' | 'stuffed';
}

export interface PageAnalysis {
  wordCount: number;
  keywords: KeywordDensity[];
  headings: { h1: number; h2: number; h3: number; problems: string[] };
  title: string;
  metaDescription: string;
}

/** Counts a (possibly multi-word) keyword as a token sequence, so "water bottle" is found as a phrase. */
export function countPhrase(tokens: readonly string[], phrase: string): number {
  const p = tokenize(phrase);
  if (!p.length) return 0;
  let n = 0;
  for (let i = 0; i + p.length <= tokens.length; i++) if (p.every((w, j) => tokens[i + j] === w)) n++;
  return n;
}

const verdict = (density: number, count: number): KeywordDensity['verdict'] =>
  count === 0 ? 'missing' : density < 0.5 ? 'low' : density > 3 ? 'stuffed' : 'good';

/** Headings as markdown (#, ##) or HTML (<h1>) in the page text; flags a missing or repeated H1. */
export function headingsOf(text: string): PageAnalysis['headings'] {
  const count = (level: number) =>
    (text.match(new RegExp(`^#{${level}}\\s`, 'gm')) ?? []).length +
    (text.match(new RegExp(`<h${level}[\\s>]`, 'gi')) ?? []).length;
  const [h1, h2, h3] = [count(1), count(2), count(3)];
  const problems: string[] = [];
  if (h1 === 0) problems.push('No H1: add one heading that states the page topic with the main keyword');
  if (h1 > 1) problems.push(`${h1} H1 headings: keep exactly one`);
  if (h2 === 0) problems.push('No H2 subheadings: break the copy into scannable sections');
  if (h3 > 0 && h2 === 0) problems.push('H3 used without H2: fix the heading hierarchy');
  return { h1, h2, h3, problems };
}

/** First sentence of the text that mentions the keyword (or the first sentence). */
function leadSentence(text: string, keyword: string): string {
  const sentences = text
    .replace(/<[^>]+>/g, ' ')
    .replace(/^#+\s.*$/gm, '')
    .split(/(?<=[.!?])\s+/)
    .map((s) => s.trim())
    .filter(Boolean);
  return sentences.find((s) => s.toLowerCase().includes(keyword.toLowerCase())) ?? sentences[0] ?? '';
}

/**
 * Analyses page copy for SEO: word count, density of each keyword (given, else the top terms without
 * stop-words), the heading structure, and a title (<= 60) and meta description (<= 155) built from it.
 */
export function analysePage(text: string, keywords: readonly string[], brand?: string): PageAnalysis {
  const plain = text.replace(/<[^>]+>/g, ' ');
  const tokens = tokenize(plain);
  const chosen = keywords.length ? keywords : topTerms(plain, 5).map((t) => t.term);
  const densities = chosen.map((keyword) => {
    const count = countPhrase(tokens, keyword);
    const density = pct(count * tokenize(keyword).length, tokens.length);
    return { keyword, count, density, verdict: verdict(density, count) };
  });
  const main = chosen[0] ?? '';
  const suffix = brand ? ` | ${brand}` : '';
  const title = fit(
    `${titleCase(main)}${suffix}`.length <= 60
      ? `${titleCase(main)}${chosen[1] ? ` - ${titleCase(chosen[1])}` : ''}${suffix}`
      : titleCase(main),
    60,
  );
  const meta = fit(leadSentence(plain, main) || `${titleCase(main)}${suffix}`, 155);
  return {
    wordCount: tokens.length,
    keywords: densities,
    headings: headingsOf(text),
    title: fit(title, 60),
    metaDescription: meta,
  };
}

function analysisBlocks(a: PageAnalysis): Block[] {
  return [
    {
      heading: 'Keyword density',
      lines: [
        `Word count: ${a.wordCount}`,
        '',
        ...table(
          ['Keyword', 'Count', 'Density', 'Verdict'],
          a.keywords.map((k) => [k.keyword, k.count, `${k.density}%`, k.verdict]),
        ),
      ],
    },
    {
      heading: 'Title and meta description',
      lines: bullets([
        `Title (${a.title.length}/60): ${a.title}`,
        `Meta description (${a.metaDescription.length}/155): ${a.metaDescription}`,
      ]),
    },
    {
      heading: 'Headings',
      lines: bullets([
        `H1: ${a.headings.h1}, H2: ${a.headings.h2}, H3: ${a.headings.h3}`,
        ...a.headings.problems,
      ]),
    },
    {
      heading: 'Fixes',
      lines: bullets([
        ...a.keywords
          .filter((k) => k.verdict === 'missing')
          .map((k) => `Use "${k.keyword}" in the H1 or first paragraph`),
        ...a.keywords
          .filter((k) => k.verdict === 'low')
          .map((k) => `Mention "${k.keyword}" once or twice more (now ${k.density}%)`),
        ...a.keywords
          .filter((k) => k.verdict === 'stuffed')
          .map((k) => `Cut "${k.keyword}" to under 3% (now ${k.density}%): use synonyms`),
        ...(a.wordCount < 300
          ? [`Copy is thin (${a.wordCount} words): aim for 300+ words with specs, use cases and FAQs`]
          : []),
      ]),
    },
  ];
}

/** The product or topic named in a request ("for our stainless steel water bottle" -> that phrase). */
export function subjectOf(text: string): string {
  const m = /\b(?:for|on|about|of)\s+(?:our|my|the|a|an)?\s*(.+?)(?:[?.!]|$)/i.exec(text);
  const phrase = (m?.[1] ?? contentWords(text).join(' ')).replace(/\bunder\s+\d.*$/i, '').trim();
  return phrase || text;
}

/** seo.optimize-product-page: analyses given copy, or drafts title/meta/FAQs for the named product. */
export const optimizeProductPage: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const pageText = detailString(ask.details, 'pageText') ?? afterColon(ask.request, 80);
  const keywords = detailList(ask.details, 'keywords');
  const brand = ask.business?.businessName;
  if (pageText) {
    const a = analysePage(pageText, keywords, brand);
    return markdownResult(
      request,
      `On-page SEO review: ${a.title}`,
      `${a.wordCount} words, ${a.keywords.filter((k) => k.verdict === 'good').length}/${a.keywords.length} keywords well placed`,
      analysisBlocks(a),
      ask.business,
    );
  }
  const product = subjectOf(ask.request);
  const main = keywords[0] ?? product;
  const variants = keywords.length
    ? keywords
    : keywordIdeas(product, undefined)
        .slice(0, 4)
        .map((k) => k.keyword);
  const title = fit(`Buy ${titleCase(main)} Online${brand ? ` | ${brand}` : ''}`, 60);
  const meta = fit(
    `Shop ${main} with fast delivery, easy returns and secure payment. Compare sizes, features and prices${brand ? ` at ${brand}` : ''}.`,
    155,
  );
  return markdownResult(
    request,
    `Product page rewrite: ${titleCase(product)}`,
    `title and meta for ${product}`,
    [
      {
        heading: 'Title and meta description',
        lines: bullets([
          `Title (${title.length}/60): ${title}`,
          `Meta description (${meta.length}/155): ${meta}`,
          `H1: ${titleCase(main)}`,
        ]),
      },
      { heading: 'Target keywords', lines: bullets(variants) },
      {
        heading: 'Copy structure',
        lines: bullets([
          `Opening line naming ${main} and its main benefit`,
          'Specifications table (material, size, capacity, care)',
          'Who it is for and when to use it',
          'Delivery, returns and warranty',
        ]),
      },
      {
        heading: 'FAQs',
        lines: bullets([
          `Is the ${product} worth the price?`,
          `How do I clean and care for the ${product}?`,
          `What sizes or variants of ${product} are available?`,
        ]),
      },
      {
        heading: 'Send the page copy for a density check',
        lines: bullets(['details.pageText (and details.keywords), or "Optimise: <page text>"']),
      },
    ],
    ask.business,
  );
};

const INTENT_MODIFIERS = [
  'buy',
  'price',
  'online',
  'best',
  'under {price}',
  'near me',
  'sale',
  'for {audience}',
];
const HINGLISH: Record<string, string> = {
  women: 'ladies',
  kurtas: 'kurti',
  kurta: 'kurti',
  bottle: 'bottal',
  cheap: 'sasta',
  shoes: 'joote',
  saree: 'sari',
};

/** Buying-intent keyword ideas for a seed phrase, with Hinglish variants and the intent each one carries. */
export function keywordIdeas(
  seed: string,
  price: number | undefined,
  audience?: string,
): { keyword: string; intent: string }[] {
  const base = contentWords(seed)
    .filter((w) => !['keywords', 'keyword', 'rupees', 'rs'].includes(w))
    .join(' ');
  const ideas = INTENT_MODIFIERS.filter((m) =>
    m.includes('{price}') ? price !== undefined : m.includes('{audience}') ? !!audience : true,
  ).map((m) => {
    const mod = m.replace('{price}', String(price)).replace('{audience}', audience ?? '');
    const keyword = m === 'best' || m === 'buy' ? `${mod} ${base}` : `${base} ${mod}`;
    const intent = /buy|price|under|sale/.test(m)
      ? 'transactional'
      : m === 'best'
        ? 'commercial'
        : 'local/navigational';
    return { keyword, intent };
  });
  const hinglish = base
    .split(' ')
    .map((w) => HINGLISH[w] ?? w)
    .join(' ');
  if (hinglish !== base) ideas.push({ keyword: `${hinglish} online`, intent: 'transactional (Hinglish)' });
  return ideas;
}

/** seo.research-keywords: buying-intent keyword map for the product named, price band included. */
export const researchKeywords: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const seed = detailString(ask.details, 'seed') ?? subjectOf(ask.request);
  const price = /under\s+(?:rs\.?\s*|inr\s*|₹\s*)?([\d,]+\s*(?:k|lakh)?)/i.exec(ask.request);
  const priceValue = price?.[1] ? parseAmount(price[1]) : undefined;
  const ideas = keywordIdeas(seed, priceValue, ask.business?.city ? undefined : undefined);
  const words = contentWords(seed);
  return markdownResult(
    request,
    `Keyword map: ${seed}`,
    `${ideas.length} buying-intent keywords for ${seed}`,
    [
      {
        heading: 'Seed',
        lines: bullets([
          `Product: ${seed}`,
          `Head terms: ${words.join(', ')}`,
          priceValue ? `Price cap: INR ${priceValue}` : 'No price cap given',
        ]),
      },
      {
        heading: 'Keywords by intent',
        lines: table(
          ['Keyword', 'Intent', 'Map to'],
          ideas.map((i) => [
            i.keyword,
            i.intent,
            i.intent.startsWith('transactional')
              ? 'product / filtered category page'
              : 'category page or guide',
          ]),
        ),
      },
      {
        heading: 'Category mapping',
        lines: bullets([
          `Category page: ${titleCase(words.join(' '))}`,
          ...(priceValue ? [`Filtered page: ${titleCase(words.join(' '))} Under ${priceValue}`] : []),
          `Guide: How to choose ${words.join(' ')}`,
        ]),
      },
    ],
    ask.business,
  );
};

/** seo.audit-site: the checks for the site given, with page copy analysed when it is sent. */
export const auditSite: CapabilityImpl = (request) => {
  const ask = askOf(request);
  const url = /https?:\/\/[^\s"')]+/i.exec(ask.request)?.[0] ?? detailString(ask.details, 'url');
  const pageText = detailString(ask.details, 'pageText');
  const host = url ? new URL(url).hostname : undefined;
  const urlIssues: string[] = [];
  if (url) {
    const u = new URL(url);
    if (u.protocol !== 'https:') urlIssues.push('Site is not on HTTPS: move to HTTPS and 301-redirect HTTP');
    if (/[A-Z]/.test(u.pathname)) urlIssues.push('Upper-case letters in the path: use lower-case URLs');
    if (u.search) urlIssues.push('Query parameters in the URL: canonicalise filtered and sorted pages');
    if (!u.hostname.startsWith('www.'))
      urlIssues.push(`Make sure www.${u.hostname} redirects to ${u.hostname} (one canonical host)`);
  }
  const question = /not indexed|index/i.test(ask.request)
    ? [
        'Check robots.txt does not disallow /collections or /category paths',
        'Check category pages do not carry noindex',
        'Submit the category sitemap in Search Console',
        'Give each category page unique copy (100+ words) so it is not treated as duplicate',
      ]
    : [];
  const blocks: Block[] = [
    {
      heading: 'Scope',
      lines: bullets([
        host ? `Site: ${host}` : 'No URL given',
        pageText ? 'Page copy supplied and analysed below' : 'No page copy supplied (details.pageText)',
      ]),
    },
    {
      heading: 'Findings from what was given',
      lines: bullets(
        [...urlIssues, ...question].length ? [...urlIssues, ...question] : ['URL structure is clean'],
      ),
    },
    {
      heading: 'Checks by revenue impact',
      lines: table(
        ['Priority', 'Check', 'Why'],
        [
          [1, 'Indexing of category and product pages', 'Unindexed pages earn nothing'],
          [2, 'Duplicate content from filters and variants', 'Splits ranking signals'],
          [3, 'Core Web Vitals on mobile product pages', 'Speed affects rank and conversion'],
          [4, 'Product structured data (price, availability, reviews)', 'Rich results raise click-through'],
          [5, 'Internal links from categories to best sellers', 'Passes authority to money pages'],
        ],
      ),
    },
  ];
  if (pageText) blocks.push(...analysisBlocks(analysePage(pageText, detailList(ask.details, 'keywords'))));
  return markdownResult(
    request,
    `SEO audit: ${host ?? 'store'}`,
    `${urlIssues.length + question.length} findings for ${host ?? 'the store'}`,
    blocks,
    ask.business,
  );
};

export const seoCapabilities: Record<string, CapabilityImpl> = {
  'seo.audit-site': auditSite,
  'seo.research-keywords': researchKeywords,
  'seo.optimize-product-page': optimizeProductPage,
};
