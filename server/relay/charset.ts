// Turns a fetched HTML body into text, choosing its character encoding the way
// the HTML spec's "encoding sniffing algorithm" does. encoding-sniffer does the
// spec's part: a byte order mark wins, then the transport layer's label (the
// Content-Type charset), then the <meta> prescan of the first 1024 bytes (with
// its tokenizer: comments, quoting, http-equiv pragmas, UTF-16 read as UTF-8).
// What this file adds is what the library lacks:
//
//   - reading the charset parameter out of a Content-Type value;
//   - only labels TextDecoder can decode count (x-user-defined and "replacement"
//     are skipped, so the next step is tried);
//   - when nothing is declared, UTF-8 if the bytes are valid UTF-8 and
//     windows-1252 otherwise. The spec falls back to a locale-dependent default
//     (windows-1252 for most of the web); most undeclared pages today are UTF-8,
//     and valid UTF-8 that is really windows-1252 text is rare (it needs byte
//     pairs like "Ã©"), so the check picks the right one far more often;
//   - a cheap hot path: with a usable header label only a BOM can override it,
//     so the sniffer reads three bytes instead of 1024, and the prescan stops
//     at the first <meta> that decides (see prescan below).
//
// Decoding uses TextDecoder (native, the WHATWG decoders), not the library's
// iconv-lite, whose windows-1252 turns the five bytes the Encoding Standard
// maps to C1 controls into U+FFFD.

import { isUtf8 } from 'node:buffer';
import { ResultType, Sniffer } from 'encoding-sniffer/sniffer';

export interface DecodedHtml {
  text: string;
  /** The WHATWG name of the encoding used: "utf-8", "windows-1252", "shift_jis"… */
  charset: string;
}

// A label or encoding name → its WHATWG name, or null when TextDecoder can't
// decode it. Pages repeat a few dozen labels, and building a TextDecoder per
// page to ask would cost more than the rest of the sniffing.
const normalized = new Map<string, string | null>();
const MAX_REMEMBERED_LABELS = 256;

/** The WHATWG name for a label, or undefined when TextDecoder cannot decode it. */
export function normalizeCharsetLabel(label: string): string | undefined {
  const key = label.trim().toLowerCase();
  let name = normalized.get(key);
  if (name === undefined) {
    try {
      name = new TextDecoder(key).encoding;
    } catch {
      name = null;
    }
    // Labels come from fetched pages, so the memo is bounded against junk.
    if (normalized.size < MAX_REMEMBERED_LABELS) normalized.set(key, name);
  }
  return name ?? undefined;
}

/** The charset parameter of a Content-Type value, quoted or not. */
export function charsetFromContentType(contentType: string | undefined): string | undefined {
  if (!contentType) return undefined;
  const match = /;\s*charset\s*=\s*(?:"([^"]*)"|([^\s;"]+))/i.exec(contentType);
  return match ? (match[1] ?? match[2]) : undefined;
}

const PRESCAN_BYTES = 1024;
const PRESCAN_STEP = 128;

// The spec's prescan stops at the first <meta> that names a usable charset; the
// library's reads all 1024 bytes whatever it found. Feeding it in steps and
// stopping once a <meta> has decided keeps the common page (<meta charset>
// first in <head>) to a hundred-odd bytes. Nothing read later can override a
// <meta> result: a BOM or XML prefix only counts at the very start.
function prescan(sniffer: Sniffer, body: Uint8Array): void {
  const end = Math.min(body.length, PRESCAN_BYTES);
  for (let at = 0; at < end && sniffer.resultType !== ResultType.META_TAG; at += PRESCAN_STEP) {
    sniffer.write(body.subarray(at, Math.min(at + PRESCAN_STEP, end)));
  }
}

/** The encoding a <meta> in the first 1024 bytes declares, if any (a WHATWG name). */
export function charsetFromMetaPrescan(body: Uint8Array): string | undefined {
  const sniffer = new Sniffer();
  prescan(sniffer, body);
  return sniffer.resultType === ResultType.META_TAG ? normalizeCharsetLabel(sniffer.encoding) : undefined;
}

/** Chooses the encoding of an HTML body (see the top of this file for the order). */
export function sniffHtmlCharset(body: Uint8Array, contentType: string | undefined): string {
  const headerLabel = charsetFromContentType(contentType);
  const fromHeader = headerLabel === undefined ? undefined : normalizeCharsetLabel(headerLabel);
  const sniffer = new Sniffer({ transportLayerEncodingLabel: fromHeader });
  if (sniffer.resultType === ResultType.PASSED) sniffer.write(body.subarray(0, 3));
  else prescan(sniffer, body);
  if (sniffer.resultType !== ResultType.DEFAULT) {
    const sniffed = normalizeCharsetLabel(sniffer.encoding);
    if (sniffed !== undefined) return sniffed;
  }
  return isUtf8(body) ? 'utf-8' : 'windows-1252';
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
