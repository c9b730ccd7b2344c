// Allow/Disallow matching for robots.txt, in a few string searches per rule.
//
// robots-parser parses the file (groups, user agents, line numbers, percent
// encoding); its matcher is Google's, which for each pattern character walks
// every path length still possible: O(pattern × path) per rule. A hostile site
// turns that into seconds of the hub's event loop per URL: `Disallow: /****…b`
// with thousands of `*`, or a few hundred `/*aaa…a` rules against a URL of 8,000
// `a`s (14 s, measured). So each rule is compiled once: rules longer than
// maxRuleLength are dropped (Google caps its lines too), runs of `*` become one
// `*` (`/a**b` ≡ `/a*b`), and the pattern is cut into its literal pieces. A path
// matches when the first piece is its prefix and every further piece is found,
// leftmost, after the one before: with `*` the only wildcard, the leftmost
// match never loses a match a later one would find, so this is exact.

/** A rule as robots-parser keeps it (pattern already percent-normalised). */
export interface ParsedRule {
  readonly pattern: string;
  readonly allow: boolean;
  readonly lineNumber: number;
}

export interface CompiledRule {
  /** The pattern with each run of `*` collapsed into one. */
  readonly pattern: string;
  readonly allow: boolean;
  readonly line: number;
  /** Longest match wins: the length of the pattern as written (robots-parser's and Google's precedence). */
  readonly priority: number;
  /** The literal pieces between the `*`s; a pattern ending in `*` ends with "". */
  readonly pieces: readonly string[];
  /** The pattern ended in `$`: the path must end where the last piece does. */
  readonly anchored: boolean;
}

/** Longer rules are dropped: no real path rule is longer than a long URL (browsers stop at 2,083 characters). */
export const ROBOTS_MAX_RULE_LENGTH = 2048;

export function compileRule(rule: ParsedRule, maxRuleLength = ROBOTS_MAX_RULE_LENGTH): CompiledRule | undefined {
  if (rule.pattern.length > maxRuleLength) return undefined;
  const collapsed = rule.pattern.replace(/\*{2,}/g, '*');
  // Only a final `$` anchors (RFC 9309 §2.2.3); elsewhere it is a literal character.
  const anchored = collapsed.endsWith('$');
  const body = anchored ? collapsed.slice(0, -1) : collapsed;
  return { pattern: collapsed, allow: rule.allow, line: rule.lineNumber, priority: rule.pattern.length, pieces: body.split('*'), anchored };
}

/** Counts string searches, so tests can show the work is bounded without timing it. */
export interface MatchSteps {
  n: number;
}

export function ruleMatches(rule: CompiledRule, path: string, steps: MatchSteps = { n: 0 }): boolean {
  const { pieces, anchored } = rule;
  steps.n++;
  if (!path.startsWith(pieces[0]!)) return false;
  if (pieces.length === 1) return !anchored || path.length === pieces[0]!.length;
  let from = pieces[0]!.length;
  for (let i = 1; i < pieces.length - 1; i++) {
    steps.n++;
    const at = path.indexOf(pieces[i]!, from);
    if (at < 0) return false;
    from = at + pieces[i]!.length;
  }
  const last = pieces[pieces.length - 1]!;
  steps.n++;
  // After a `*`, an anchored last piece may end the path anywhere past `from`; unanchored, anywhere at all.
  return anchored ? path.length - last.length >= from && path.endsWith(last) : path.indexOf(last, from) >= 0;
}

/** The rule that decides for `path`: the longest match, Allow winning a tie; null when none matches. */
export function decidingRule(rules: readonly CompiledRule[], path: string, steps?: MatchSteps): CompiledRule | null {
  let best: CompiledRule | null = null;
  for (const rule of rules) {
    if (best && rule.priority < best.priority) continue; // cannot win: skip the search
    if (!ruleMatches(rule, path, steps)) continue;
    if (!best || rule.priority > best.priority || (rule.allow && !best.allow)) best = rule;
  }
  return best;
}
