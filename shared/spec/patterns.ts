// URL patterns of a spec: a string is a glob over the whole absolute URL with
// Crawlee's (minimatch) meaning: `*` any run of characters but `/`, `**` any run,
// `?` one character, `{a,b}` alternatives. `{ "regex": "..." }` is a regular
// expression that may match anywhere in the URL, as Scrapy's allow/deny do.
import picomatch from 'picomatch/posix.js';

export type UrlPattern = string | { regex: string; flags?: string | undefined };

export class PatternError extends Error {
  override readonly name = 'PatternError';
}

const compiled = new Map<string, RegExp>();

/** Compiles a pattern to a RegExp (cached); throws PatternError for a bad one. */
export function compilePattern(pattern: UrlPattern): RegExp {
  const key = typeof pattern === 'string' ? `g:${pattern}` : `r:${pattern.flags ?? ''}:${pattern.regex}`;
  const hit = compiled.get(key);
  if (hit) return hit;
  let re: RegExp;
  if (typeof pattern === 'string') {
    try {
      // posix: no Windows path separators; dot: `*` also matches a leading '.'.
      re = picomatch.makeRe(pattern, { dot: true, nonegate: true, strictBrackets: true });
    } catch (error) {
      throw new PatternError(`invalid glob "${pattern}": ${(error as Error).message}`);
    }
  } else {
    const flags = pattern.flags ?? '';
    if (!/^[imsu]*$/.test(flags)) throw new PatternError(`regex flags may only be i, m, s, u (got "${flags}")`);
    try {
      re = new RegExp(pattern.regex, flags);
    } catch (error) {
      throw new PatternError(`invalid regex: ${(error as Error).message}`);
    }
  }
  if (compiled.size > 5000) compiled.clear();
  compiled.set(key, re);
  return re;
}

export function matchesPattern(pattern: UrlPattern, url: string): boolean {
  return compilePattern(pattern).test(url);
}

export function matchesAny(patterns: readonly UrlPattern[], url: string): boolean {
  return patterns.some((p) => matchesPattern(p, url));
}
