// The spider spec: the declarative JSON an operator writes to describe a crawl.
// One zod schema both validates and supplies defaults; `parseSpec` turns every
// problem into { path, message } with a JSON path, so forms and the CLI can show
// the error at the field at fault.
import { z } from 'zod';
import { parseSelector, SelectorError, type ParsedSelector } from '../extract/selector.ts';
import { compilePattern, PatternError, type UrlPattern } from './patterns.ts';
import { parseUrl } from '../url/whatwg-url.ts';

const MAX_START_URLS = 10_000;
const MAX_RULES = 100;
const MAX_FIELDS = 200;

/** A CSS selector, optionally ending in ::text or ::attr(name); checked at parse time. */
const selector = (allow: 'any' | 'elements' | 'links') =>
  z.string().max(1000).superRefine((value, ctx) => {
    let parsed: ParsedSelector;
    try {
      parsed = parseSelector(value);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: error instanceof SelectorError ? error.message : String(error) });
      return;
    }
    if (allow === 'elements' && parsed.pseudo.kind !== 'element') {
      ctx.addIssue({ code: 'custom', message: `an item selector selects elements; remove "::${parsed.pseudo.kind}"` });
    }
    if (allow !== 'any' && parsed.css === '') {
      ctx.addIssue({ code: 'custom', message: 'selector must not be empty' });
    }
    if (allow === 'links' && parsed.pseudo.kind === 'text') {
      ctx.addIssue({ code: 'custom', message: 'a follow selector gives URLs: use elements (their href) or ::attr(name), not ::text' });
    }
  });

const pattern = z
  .union([
    z.string().min(1).max(2000),
    z.strictObject({ regex: z.string().min(1).max(2000), flags: z.string().max(4).optional() }),
  ])
  .superRefine((value, ctx) => {
    try {
      compilePattern(value as UrlPattern);
    } catch (error) {
      ctx.addIssue({ code: 'custom', message: error instanceof PatternError ? error.message : String(error) });
    }
  });

const httpUrl = z
  .string()
  .max(8192)
  .superRefine((value, ctx) => {
    const url = parseUrl(value);
    if (url === null) {
      ctx.addIssue({ code: 'custom', message: `not an absolute URL: "${value}"` });
      return;
    }
    if (url.protocol !== 'http:' && url.protocol !== 'https:') {
      ctx.addIssue({ code: 'custom', message: `only http and https URLs can be crawled (got "${url.protocol}")` });
    }
    // fetch() refuses URLs with credentials, and the crawler drops them (shared/url/canonical.ts).
    if (url.username !== '' || url.password !== '') {
      ctx.addIssue({ code: 'custom', message: 'URLs with credentials (user:password@) cannot be crawled' });
    }
  });

/** Post-processing steps of a field, applied in order (like Scrapy item loaders' processors). */
const processor = z.union([
  z.literal('trim'),
  z.literal('normalizeWhitespace'), // collapse runs of white space to one space and trim
  z.literal('absoluteUrl'), // resolve against the page's URL and <base href>
  z.literal('lowercase'),
  z.literal('uppercase'),
  // parsel's re_first: the first match's named or numbered group (group 1 when there is one, else the whole match)
  z.strictObject({ regex: z.string().min(1).max(2000), flags: z.string().regex(/^[imsu]*$/).optional(), group: z.union([z.number().int().min(0).max(99), z.string().min(1).max(64)]).optional() })
    .superRefine((value, ctx) => {
      try {
        new RegExp(value.regex, value.flags);
      } catch (error) {
        ctx.addIssue({ code: 'custom', path: ['regex'], message: `invalid regex: ${(error as Error).message}` });
      }
    }),
  z.strictObject({ replace: z.string().min(1).max(2000), with: z.string().max(2000).default(''), flags: z.string().regex(/^[imsu]*$/).optional() })
    .superRefine((value, ctx) => {
      try {
        new RegExp(value.replace, value.flags);
      } catch (error) {
        ctx.addIssue({ code: 'custom', path: ['replace'], message: `invalid regex: ${(error as Error).message}` });
      }
    }),
  z.strictObject({ join: z.string().max(100) }), // turns all matches into one string
]);

const fieldObject = z.strictObject({
  selector: selector('any'),
  /** false: the first match (parsel's get()); true: every match (getall()). */
  all: z.boolean().default(false),
  /** The value when nothing matched (or every match was dropped by a regex). */
  default: z.union([z.string().max(10_000), z.null()]).default(null),
  process: z.array(processor).max(20).default([]),
});

/** A field is a selector string, or an object with options. */
const field = z.union([selector('any'), fieldObject]).transform((value) =>
  typeof value === 'string' ? fieldObject.parse({ selector: value }) : value,
);

const fieldName = z
  .string()
  .min(1)
  .max(64)
  .regex(/^[A-Za-z_][A-Za-z0-9_-]*$/, 'field names start with a letter or _ and use letters, digits, _ and -')
  .refine((name) => !RESERVED_FIELD_NAMES.has(name), 'reserved field name');

const RESERVED_FIELD_NAMES = new Set(['__proto__', 'constructor', 'prototype']);

const fieldRecord = z.record(fieldName, field)
  .refine((f) => Object.keys(f).length > 0, 'an item needs at least one field')
  .refine((f) => Object.keys(f).length <= MAX_FIELDS, `at most ${MAX_FIELDS} fields`);

/**
 * zod's record silently drops a "__proto__" key (which JSON.parse does create as
 * an own property) before the key schema sees it; report it instead of losing
 * the field without a word.
 */
const fields = z.preprocess<unknown, typeof fieldRecord, z.input<typeof fieldRecord>>((value, ctx) => {
  if (typeof value === 'object' && value !== null && Object.hasOwn(value, '__proto__')) {
    ctx.addIssue({ code: 'custom', path: ['__proto__'], message: 'reserved field name', input: value });
  }
  return value;
}, fieldRecord);

const itemRule = z.strictObject({
  /** The item type, for specs that extract several kinds of item. */
  type: z.string().min(1).max(64).regex(/^[A-Za-z_][A-Za-z0-9_-]*$/).default('item'),
  /** Each element this selects is one item; fields are relative to it. */
  selector: selector('elements'),
  fields,
  /** The rule applies only to pages whose URL matches one of these (CrawlSpider-style). */
  urlPatterns: z.array(pattern).max(100).default([]),
});

const scope = z.union([
  z.literal('sameHost'),
  z.literal('sameDomain'), // same registrable domain (eTLD+1)
  z.literal('any'),
  z.strictObject({ domains: z.array(z.string().min(1).max(253).regex(/^[a-z0-9.-]+$/i, 'a host name')).min(1).max(1000) }),
]);

const followRule = z.strictObject({
  /** Selects link elements (their href) or ends in ::attr(name); absent: every a[href] and area[href]. */
  selector: selector('links').optional(),
  /** The rule applies only on pages whose URL matches one of these. */
  urlPatterns: z.array(pattern).max(100).default([]),
  /** A link is followed only if it matches one of these (when any are given)... */
  allow: z.array(pattern).max(100).default([]),
  /** ...and none of these. */
  deny: z.array(pattern).max(100).default([]),
  scope: scope.default('sameHost'),
  /** Links found at this depth or deeper are not followed (start URLs are depth 0). */
  maxDepth: z.number().int().min(0).max(10_000).optional(),
});

const limits = z.strictObject({
  /** Exactly this many pages recorded, at most. */
  maxPages: z.number().int().min(1).max(100_000_000).optional(),
  maxDepth: z.number().int().min(0).max(10_000).optional(),
  maxDurationMs: z.number().int().min(1000).max(30 * 24 * 3600 * 1000).optional(),
});

/**
 * Scrapy's AutoThrottle, per host: after each page the host's delay moves
 * halfway towards latency / targetConcurrency; a 429 or 503 answer (or a
 * timeout) doubles it. It stays between the host's minimum (perHostDelayMs,
 * or robots.txt's Crawl-delay when larger) and maxDelayMs.
 */
const autoThrottle = z.strictObject({
  enabled: z.boolean().default(true),
  /** Average requests in flight to one host the delay aims at; absent: perHostConcurrency (Scrapy's default is 1). */
  targetConcurrency: z.number().min(0.1).max(1000).optional(),
  /** The ceiling of a host's delay (Scrapy's AUTOTHROTTLE_MAX_DELAY). */
  maxDelayMs: z.number().int().min(0).max(3_600_000).default(60_000),
});

const politeness = z.strictObject({
  obeyRobotsTxt: z.boolean().default(true),
  /** Leases in flight per host at once, across every worker (Scrapy's CONCURRENT_REQUESTS_PER_DOMAIN). */
  perHostConcurrency: z.number().int().min(1).max(1000).default(8),
  /** The least time between two fetches from one host (Scrapy's DOWNLOAD_DELAY). */
  perHostDelayMs: z.number().int().min(0).max(3_600_000).default(0),
  userAgent: z.string().min(1).max(500).regex(/^[\x20-\x7e]+$/, 'printable ASCII only').default('crowdcrawl/0.1'),
  autoThrottle: autoThrottle.default({ enabled: true, maxDelayMs: 60_000 }),
});

/** Retries of pages that failed in a way that may pass (timeouts, 5xx, 429); absent keys take the hub's defaults. */
const retry = z.strictObject({
  /** Attempts in all, the first included; 1 means never retry. */
  maxAttempts: z.number().int().min(1).max(20).optional(),
  /** The first retry waits about this long (with jitter), the next twice as long, and so on. */
  baseDelayMs: z.number().int().min(0).max(600_000).optional(),
  maxDelayMs: z.number().int().min(0).max(3_600_000).optional(),
});

/**
 * Sitemaps as a start source: every page a sitemap lists is queued at depth 0,
 * like a start URL, when it is in scope relative to where the sitemap was
 * named (the sitemap's own URL, or the robots.txt that listed it).
 */
const sitemaps = z.strictObject({
  /** Sitemaps or sitemap indexes (XML, gzipped XML or plain text). */
  urls: z.array(httpUrl).max(1000).default([]),
  /** Also read the Sitemap: lines of the robots.txt of every start URL's origin. */
  fromRobotsTxt: z.boolean().default(false),
  /** Which listed pages are queued, as a follow rule's scope. */
  scope: scope.default('sameHost'),
  allow: z.array(pattern).max(100).default([]),
  deny: z.array(pattern).max(100).default([]),
  /** Pages queued from sitemaps at most, in all. */
  maxUrls: z.number().int().min(1).max(100_000_000).default(1_000_000),
});

export const specSchema = z.strictObject({
  name: z.string().min(1).max(100).regex(/^[A-Za-z0-9][A-Za-z0-9_.-]*$/, 'letters, digits, _, . and -; starting with a letter or digit'),
  /** The spec's revision; every result records the version it was extracted with. */
  version: z.number().int().min(1).max(1_000_000).default(1),
  startUrls: z.array(httpUrl).min(1, 'at least one start URL').max(MAX_START_URLS),
  items: z.array(itemRule).max(MAX_RULES).default([]),
  follow: z.array(followRule).max(MAX_RULES).default([]),
  limits: limits.default({}),
  politeness: politeness.default({
    obeyRobotsTxt: true,
    perHostConcurrency: 8,
    perHostDelayMs: 0,
    userAgent: 'crowdcrawl/0.1',
    autoThrottle: { enabled: true, maxDelayMs: 60_000 },
  }),
  retry: retry.optional(),
  sitemaps: sitemaps.optional(),
});

/** A spec as written: optional fields may be left out. */
export type SpecInput = z.input<typeof specSchema>;
/** A validated spec with every default filled in. */
export type Spec = z.output<typeof specSchema>;
export type ItemRule = Spec['items'][number];
export type FollowRule = Spec['follow'][number];
export type FieldSpec = ItemRule['fields'][string];
export type Processor = FieldSpec['process'][number];
export type Scope = FollowRule['scope'];
export type AutoThrottleSpec = Spec['politeness']['autoThrottle'];
export type SitemapsSpec = NonNullable<Spec['sitemaps']>;

export interface SpecIssue {
  /** A JSON path such as `$.items[0].fields.text`. */
  readonly path: string;
  readonly message: string;
}

export type SpecResult = { ok: true; spec: Spec } | { ok: false; issues: SpecIssue[] };

export function jsonPath(path: readonly PropertyKey[]): string {
  let out = '$';
  for (const key of path) {
    if (typeof key === 'number') out += `[${key}]`;
    else if (typeof key === 'string' && /^[A-Za-z_$][A-Za-z0-9_$]*$/.test(key)) out += `.${key}`;
    else out += `[${JSON.stringify(String(key))}]`;
  }
  return out;
}

type ZodIssue = z.core.$ZodIssue;

/** A branch of a union that failed only because the value is of another type or literal. */
function isWrongKind(branch: readonly ZodIssue[]): boolean {
  return branch.every((i) => i.path.length === 0 && (i.code === 'invalid_type' || i.code === 'invalid_value'));
}

/**
 * The union branch the writer evidently meant: of the branches whose type
 * matched, the one with the fewest issues (null when none or a tie).
 */
function intendedBranch(branches: readonly (readonly ZodIssue[])[]): readonly ZodIssue[] | null {
  const candidates = branches.filter((b) => b.length > 0 && !isWrongKind(b));
  if (candidates.length === 0) return null;
  const fewest = Math.min(...candidates.map((b) => b.length));
  const best = candidates.filter((b) => b.length === fewest);
  return best.length === 1 ? best[0]! : null;
}

/** "expected one of "sameHost", "any" or an object" for a union no branch of which matched the type. */
function expectedOneOf(branches: readonly (readonly ZodIssue[])[]): string | null {
  if (branches.length === 0 || !branches.every(isWrongKind)) return null;
  const options = new Set<string>();
  for (const issue of branches.flat()) {
    if (issue.code === 'invalid_value') for (const v of issue.values) options.add(JSON.stringify(v) ?? String(v));
    else if (issue.code === 'invalid_type') options.add(`${/^[aeiou]/.test(issue.expected) ? 'an' : 'a'} ${issue.expected}`);
  }
  const list = [...options];
  if (list.length < 2) return null;
  return `expected one of ${list.slice(0, -1).join(', ')} or ${list.at(-1)}`;
}

/**
 * zod's issues as SpecIssues, made specific where zod is vague: a union's
 * "Invalid input" becomes the issues of the branch that was meant (or a list
 * of what is accepted), a record's "Invalid key in record" the key's own reason.
 */
function toSpecIssues(issues: readonly ZodIssue[], prefix: readonly PropertyKey[] = []): SpecIssue[] {
  const out: SpecIssue[] = [];
  for (const issue of issues) {
    const path = [...prefix, ...issue.path];
    if (issue.code === 'invalid_union') {
      const branch = intendedBranch(issue.errors);
      if (branch) {
        out.push(...toSpecIssues(branch, path));
        continue;
      }
      out.push({ path: jsonPath(path), message: expectedOneOf(issue.errors) ?? issue.message });
    } else if (issue.code === 'invalid_key' && issue.issues.length > 0) {
      for (const inner of issue.issues) out.push({ path: jsonPath(path), message: inner.message });
    } else {
      out.push({ path: jsonPath(path), message: issue.message });
    }
  }
  return out;
}

/** Validates a spec and fills in defaults; never throws. */
export function parseSpec(input: unknown): SpecResult {
  const result = specSchema.safeParse(input);
  if (result.success) return { ok: true, spec: result.data };
  return { ok: false, issues: toSpecIssues(result.error.issues) };
}

export class SpecError extends Error {
  override readonly name = 'SpecError';
  readonly code = 'SPEC_INVALID';
  readonly issues: readonly SpecIssue[];
  constructor(issues: readonly SpecIssue[]) {
    super(`invalid spec:\n${issues.map((i) => `  ${i.path}: ${i.message}`).join('\n')}`);
    this.issues = issues;
  }
}

/** Like parseSpec, but throws SpecError listing every issue. */
export function assertSpec(input: unknown): Spec {
  const result = parseSpec(input);
  if (!result.ok) throw new SpecError(result.issues);
  return result.spec;
}
