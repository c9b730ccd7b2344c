// A field's processors: each step maps the list of values to a new list, in the
// order the spec gives them (like Scrapy item loaders' processors).
import type { Processor } from '../spec/schema.ts';
import { linkResolver } from '../url/canonical.ts';
import { cutToLength } from './text.ts';

export interface ProcessContext {
  readonly pageUrl: string;
  /** The first <base href> of the page, if any. */
  readonly baseHref: string | null;
}

/** Runs of white space: JavaScript's \s covers ASCII and Unicode spaces (NBSP, ideographic space, line separators...). */
const WHITE_SPACE_RUN = /\s+/gu;

const regexCache = new Map<string, { re: RegExp; groupCount: number }>();

function compiled(source: string, flags: string): { re: RegExp; groupCount: number } {
  const key = `${flags}/${source}`;
  let hit = regexCache.get(key);
  if (!hit) {
    const re = new RegExp(source, flags);
    // An alternative that always matches the empty string reveals the number of groups.
    const groupCount = new RegExp(`${source}|`, flags).exec('')!.length - 1;
    hit = { re, groupCount };
    if (regexCache.size > 1000) regexCache.clear();
    regexCache.set(key, hit);
  }
  return hit;
}

/**
 * parsel's re_first, per value: the first match's group (the named or numbered
 * `group`; by default group 1 when the regex has a group, else the whole match).
 * A value the regex does not match is dropped; a group that took no part in the
 * match gives "" (as Python's findall does).
 */
function applyRegex(values: readonly string[], step: { regex: string; flags?: string | undefined; group?: string | number | undefined }): string[] {
  const { re, groupCount } = compiled(step.regex, step.flags ?? '');
  const group = step.group ?? (groupCount > 0 ? 1 : 0);
  const out: string[] = [];
  for (const value of values) {
    const match = re.exec(value);
    if (match === null) continue;
    const picked = typeof group === 'number' ? match[group] : match.groups?.[group];
    out.push(picked ?? '');
  }
  return out;
}

/** The last page's link resolver: a page's absoluteUrl fields all resolve against one base. */
let lastResolver: { pageUrl: string; baseHref: string | null; resolve: (href: string) => string | null } | undefined;

function resolverFor(context: ProcessContext): (href: string) => string | null {
  if (lastResolver?.pageUrl !== context.pageUrl || lastResolver.baseHref !== context.baseHref) {
    lastResolver = { pageUrl: context.pageUrl, baseHref: context.baseHref, resolve: linkResolver(context.pageUrl, context.baseHref) };
  }
  return lastResolver.resolve;
}

function applyStep(values: readonly string[], step: Processor, context: ProcessContext): string[] {
  if (step === 'trim') return values.map((v) => v.trim());
  if (step === 'normalizeWhitespace') return values.map((v) => v.replace(WHITE_SPACE_RUN, ' ').trim());
  if (step === 'lowercase') return values.map((v) => v.toLowerCase());
  if (step === 'uppercase') return values.map((v) => v.toUpperCase());
  if (step === 'absoluteUrl') {
    const out: string[] = [];
    const resolve = resolverFor(context);
    for (const value of values) {
      const url = resolve(value);
      if (url !== null) out.push(url);
    }
    return out;
  }
  if ('regex' in step) return applyRegex(values, step);
  if ('replace' in step) {
    // Global replace; `with` may use $1, $<name> and $& as String.prototype.replace does.
    const { re } = compiled(step.replace, `${step.flags ?? ''}g`);
    return values.map((v) => cutToLength(v.replace(re, step.with)));
  }
  // join: every value becomes one string; no values stay no value (so `default` applies).
  return values.length === 0 ? [] : [cutToLength(values.join(step.join))];
}

/** Applies the processors in order. */
export function applyProcessors(values: readonly string[], steps: readonly Processor[], context: ProcessContext): string[] {
  let current = values as string[];
  for (const step of steps) current = applyStep(current, step, context);
  return current;
}
