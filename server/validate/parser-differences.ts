// The inputs on which DOMParser (tabs, headless workers) and parse5 (Node
// workers, the hub) are documented to disagree (docs/extraction.md, "Known
// differences between browsers and Node"). On a body free of them, the hub's
// own cheerio run is a like-for-like opinion on a tab's result; on a body with
// one, only another browser's extraction may judge a browser's (BOINC's
// homogeneous redundancy), so no honest tab is struck for a parser difference.
// The scan is deliberately wide: a false alarm only asks for a browser opinion.

/** A `<select>` holding anything but options, groups, rules, scripts and templates. */
function selectWithOtherContent(html: string): boolean {
  const lower = html.toLowerCase();
  let from = 0;
  for (;;) {
    const open = lower.indexOf('<select', from);
    if (open === -1) return false;
    const close = lower.indexOf('</select', open + 7);
    const inner = lower.slice(lower.indexOf('>', open) + 1, close === -1 ? undefined : close);
    if (/<(?!\/?(?:option|optgroup|hr|script|template)\b|!--|\/)[^\s>]/.test(inner)) return true;
    if (close === -1) return false;
    from = close + 8;
  }
}

const NUL_AFTER_LT = /<\u0000/;
const CDATA = /<!\[CDATA\[/i;
const FOREIGN = /<(?:svg|math)\b/i;
/** An absolute URL in an attribute whose host part holds a space: `href="http://exa mple.com/"`. */
const SPACE_IN_HOST = /=\s*["']?\s*[a-z][a-z0-9+.-]*:\/\/[^/"'<>?#]* [^/"'<>?#]*[/"'?#]/i;

export function hasParserDifferences(html: string): boolean {
  return (
    NUL_AFTER_LT.test(html) ||
    (CDATA.test(html) && FOREIGN.test(html)) ||
    SPACE_IN_HOST.test(html) ||
    selectWithOtherContent(html)
  );
}
