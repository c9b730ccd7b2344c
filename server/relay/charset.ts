// Turns a fetched HTML body into text, choosing its character encoding the way
// the HTML spec's "encoding sniffing algorithm" does, simplified:
//
//   1. a byte order mark (UTF-8, UTF-16LE, UTF-16BE) wins;
//   2. else the Content-Type header's charset= parameter;
//   3. else a <meta charset> or <meta http-equiv="Content-Type" content="…charset=…">
//      found in the first 1024 bytes (the spec's prescan, without its full
//      tokenizer: comments are skipped, attributes read with one pattern);
//   4. else UTF-8 when the bytes are valid UTF-8, and windows-1252 otherwise.
//
// Step 4 departs from the spec, which falls back to a locale-dependent default
// (windows-1252 for most of the web) and may guess from frequency analysis.
// Most pages without a declared charset today are UTF-8, and valid UTF-8 that
// is really windows-1252 text is rare (it needs byte pairs like "Ã©"), so the
// check picks the right one far more often than either fixed default.
//
// A label the WHATWG Encoding Standard does not know, or one TextDecoder cannot
// decode (x-user-defined, "replacement"), is ignored and the next step is tried.

export interface DecodedHtml {
  text: string;
  /** The WHATWG name of the encoding used: "utf-8", "windows-1252", "shift_jis"… */
  charset: string;
}

const PRESCAN_BYTES = 1024;

/** The WHATWG name for a label, or undefined when TextDecoder cannot decode it. */
export function normalizeCharsetLabel(label: string): string | undefined {
  try {
    return new TextDecoder(label.trim()).encoding;
  } catch {
    return undefined;
  }
}

function charsetFromBom(body: Uint8Array): string | undefined {
  if (body[0] === 0xef && body[1] === 0xbb && body[2] === 0xbf) return 'utf-8';
  if (body[0] === 0xfe && body[1] === 0xff) return 'utf-16be';
  if (body[0] === 0xff && body[1] === 0xfe) return 'utf-16le';
  return undefined;
}

/** The charset parameter of a Content-Type value, quoted or not. */
export function charsetFromContentType(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const match = /;\s*charset\s*=\s*(?:"([^"]*)"|([^\s;"]+))/i.exec(contentType);
  return match ? (match[1] ?? match[2]) : undefined;
}

/** The HTML spec's "extracting a character encoding from a meta element", on a content attribute. */
function charsetFromMetaContent(content: string): string | undefined {
  const match = /charset\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s;"']+))/i.exec(content);
  return match ? (match[1] ?? match[2] ?? match[3]) : undefined;
}

const ATTRIBUTE = /([^\s"'>/=]+)(?:\s*=\s*(?:"([^"]*)"|'([^']*)'|([^\s>]+)))?/g;

function readAttributes(tagBody: string): Map<string, string> {
  const attributes = new Map<string, string>();
  for (const match of tagBody.matchAll(ATTRIBUTE)) {
    const name = match[1]!.toLowerCase();
    // The first occurrence of an attribute wins, as in the tokenizer.
    if (!attributes.has(name)) attributes.set(name, match[2] ?? match[3] ?? match[4] ?? '');
  }
  return attributes;
}

/** The label a <meta> in the first 1024 bytes declares, if any. */
export function charsetFromMetaPrescan(body: Uint8Array): string | undefined {
  // latin1 maps each byte to one char, so ASCII markup reads the same in any ASCII-compatible encoding.
  const head = Buffer.from(body.buffer, body.byteOffset, Math.min(body.length, PRESCAN_BYTES))
    .toString('latin1')
    .replace(/<!--[\s\S]*?(?:-->|$)/g, '');
  for (const tag of head.matchAll(/<meta[\s/]([^>]*)>?/gi)) {
    const attributes = readAttributes(tag[1]!);
    const charset = attributes.get('charset');
    if (charset !== undefined && charset.trim() !== '') return charset;
    const content = attributes.get('content');
    if (attributes.get('http-equiv')?.trim().toLowerCase() === 'content-type' && content !== undefined) {
      const fromContent = charsetFromMetaContent(content);
      if (fromContent !== undefined) return fromContent;
    }
  }
  return undefined;
}

/** A meta declaration can't be UTF-16 (the meta was read as ASCII), per the spec. */
function adjustMetaCharset(charset: string): string {
  return charset === 'utf-16le' || charset === 'utf-16be' ? 'utf-8' : charset;
}

function isValidUtf8(body: Uint8Array): boolean {
  try {
    new TextDecoder('utf-8', { fatal: true }).decode(body);
    return true;
  } catch {
    return false;
  }
}

/** Chooses the encoding of an HTML body (see the top of this file for the order). */
export function sniffHtmlCharset(body: Uint8Array, contentType: string | undefined): string {
  const fromBom = charsetFromBom(body);
  if (fromBom !== undefined) return fromBom;
  const fromHeaderLabel = charsetFromContentType(contentType);
  const fromHeader = fromHeaderLabel === undefined ? undefined : normalizeCharsetLabel(fromHeaderLabel);
  if (fromHeader !== undefined) return fromHeader;
  const fromMetaLabel = charsetFromMetaPrescan(body);
  const fromMeta = fromMetaLabel === undefined ? undefined : normalizeCharsetLabel(fromMetaLabel);
  if (fromMeta !== undefined) return adjustMetaCharset(fromMeta);
  return isValidUtf8(body) ? 'utf-8' : 'windows-1252';
}

// windows-1252 at 0x80–0x9F, where it differs from ISO-8859-1 (the five unassigned bytes stay C1 controls).
const WINDOWS_1252_HIGH =
  '\u20ac\u0081\u201a\u0192\u201e\u2026\u2020\u2021\u02c6\u2030\u0160\u2039\u0152\u008d\u017d\u008f' +
  '\u0090\u2018\u2019\u201c\u201d\u2022\u2013\u2014\u02dc\u2122\u0161\u203a\u0153\u009d\u017e\u0178';

// Node 24's TextDecoder decodes windows-1252 (and every label mapped to it, such
// as iso-8859-1) as ISO-8859-1, so 0x80 comes out as U+0080 instead of €.
// Checked once, so the workaround goes away by itself where Node is fixed.
const TEXT_DECODER_WINDOWS_1252_IS_RIGHT = new TextDecoder('windows-1252').decode(Uint8Array.of(0x80)) === '\u20ac';

function decodeWindows1252(body: Buffer): string {
  return body.toString('latin1').replace(/[\x80-\x9f]/g, (c) => WINDOWS_1252_HIGH[c.charCodeAt(0) - 0x80]!);
}

/** Decodes an HTML body to text; bytes invalid in the chosen encoding become U+FFFD. */
export function decodeHtml(body: Buffer, contentType: string | undefined): DecodedHtml {
  const charset = sniffHtmlCharset(body, contentType);
  if (charset === 'windows-1252' && !TEXT_DECODER_WINDOWS_1252_IS_RIGHT) return { text: decodeWindows1252(body), charset };
  // TextDecoder drops a BOM that matches the encoding, as the HTML spec does.
  return { text: new TextDecoder(charset).decode(body), charset };
}
