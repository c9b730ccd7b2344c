// A crawl's items as a download: JSON Lines, one JSON array, or CSV. The items
// are read from storage in batches (Storage.iterateItems) and pulled through a
// stream pipeline, so the response is written only as fast as the client reads
// it and a million items never sit in memory at once. When the client goes
// away, the pipeline is destroyed and the reading stops with it.
import { Readable, Transform, type TransformCallback } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Response } from 'express';
import { stringify } from 'csv-stringify';
import type { Spec } from '../../shared/spec/schema.ts';
import type { StoredItem, Storage } from '../storage/storage.ts';
import type { Crawl } from '../crawl/crawl.ts';

export const EXPORT_FORMATS = ['jsonl', 'json', 'csv'] as const;
export type ExportFormat = (typeof EXPORT_FORMATS)[number];

export function isExportFormat(value: unknown): value is ExportFormat {
  return typeof value === 'string' && (EXPORT_FORMATS as readonly string[]).includes(value);
}

export const EXPORT_CONTENT_TYPES: Record<ExportFormat, string> = {
  jsonl: 'application/x-ndjson; charset=utf-8',
  json: 'application/json; charset=utf-8',
  csv: 'text/csv; charset=utf-8',
};

/** The CSV columns that hold an item's page URL and type; a field of the same name is written as `data.<name>`. */
const CSV_META_COLUMNS = ['url', 'type'] as const;

/** Responses are written in pieces of about this size rather than one small write per item. */
const CHUNK_BYTES = 64 * 1024;
/** Rows read from SQLite per query. */
const READ_BATCH = 1000;

export interface CsvColumns {
  /** The header row: url, type, then one column per field. */
  header: string[];
  /** The field name each column after url and type comes from. */
  fields: string[];
}

/** url, type, then every field name of every item rule, in the order the spec first names them. */
export function csvColumns(spec: Spec): CsvColumns {
  const fields: string[] = [];
  const seen = new Set<string>();
  for (const rule of spec.items) {
    for (const name of Object.keys(rule.fields)) {
      if (seen.has(name)) continue;
      seen.add(name);
      fields.push(name);
    }
  }
  const meta = new Set<string>(CSV_META_COLUMNS);
  return { header: [...CSV_META_COLUMNS, ...fields.map((name) => (meta.has(name) ? `data.${name}` : name))], fields };
}

/** One CSV cell: strings as they are, lists JSON-encoded, null and missing fields empty. */
function csvCell(value: unknown): string {
  if (value === null || value === undefined) return '';
  if (typeof value === 'string') return value;
  return JSON.stringify(value);
}

/**
 * A JSON Lines / JSON record, written around the stored JSON of the item's data
 * (which the hub itself serialized) so it is not parsed and serialized again:
 * {"url":…,"type":…,"data":{…},"specVersion":1,"extractedAt":"…Z"}
 */
export function jsonRecord(item: StoredItem): string {
  return `{"url":${JSON.stringify(item.url)},"type":${JSON.stringify(item.type)},"data":${item.data},"specVersion":${item.specVersion},"extractedAt":"${new Date(item.createdAt).toISOString()}"}`;
}

async function* jsonLines(items: AsyncIterable<StoredItem>): AsyncGenerator<string> {
  for await (const item of items) yield `${jsonRecord(item)}\n`;
}

async function* jsonArray(items: AsyncIterable<StoredItem>): AsyncGenerator<string> {
  let first = true;
  for await (const item of items) {
    yield `${first ? '[\n' : ',\n'}${jsonRecord(item)}`;
    first = false;
  }
  yield first ? '[]\n' : '\n]\n';
}

async function* csvRows(items: AsyncIterable<StoredItem>, fields: readonly string[]): AsyncGenerator<string[]> {
  for await (const item of items) {
    const data = JSON.parse(item.data) as Record<string, unknown>;
    const row = [item.url, item.type];
    for (const name of fields) row.push(csvCell(Object.hasOwn(data, name) ? data[name] : null));
    yield row;
  }
}

/** Gathers small writes into pieces of about CHUNK_BYTES (one syscall and one HTTP chunk each). */
class Coalesce extends Transform {
  private parts: Buffer[] = [];
  private size = 0;

  constructor() {
    super({ writableObjectMode: true });
  }

  override _transform(chunk: string | Buffer, _encoding: BufferEncoding, done: TransformCallback): void {
    const buffer = typeof chunk === 'string' ? Buffer.from(chunk, 'utf8') : chunk;
    this.parts.push(buffer);
    this.size += buffer.length;
    if (this.size >= CHUNK_BYTES) this.flushParts();
    done();
  }

  override _flush(done: TransformCallback): void {
    this.flushParts();
    done();
  }

  private flushParts(): void {
    if (this.size === 0) return;
    this.push(Buffer.concat(this.parts, this.size));
    this.parts = [];
    this.size = 0;
  }
}

export interface ExportOptions {
  /**
   * CSV only, on unless false: a cell starting with = + - @, a tab or CR (or
   * their full-width forms) gets a leading ', so a spreadsheet shows scraped
   * text instead of running it as a formula (OWASP CSV injection; a site
   * controls the text). JSON and JSON Lines are never changed.
   */
  escapeFormulas?: boolean;
  /** Only the items of pages that changed since the previous run of a re-crawl (not carried; docs/operate.md). */
  changedOnly?: boolean;
}

/** The export of a crawl's items as a list of streams to pipe into a response. */
export function exportStreams(storage: Storage, crawl: Crawl, format: ExportFormat, options: ExportOptions = {}): [Readable, ...Transform[]] {
  const items = options.changedOnly ? storage.iterateChangedItems(crawl.id, READ_BATCH) : storage.iterateItems(crawl.id, READ_BATCH);
  if (format === 'csv') {
    const { header, fields } = csvColumns(crawl.spec);
    const csv = stringify({ header: true, columns: header, escape_formulas: options.escapeFormulas ?? true });
    return [Readable.from(csvRows(items, fields), { objectMode: true }), csv, new Coalesce()];
  }
  const lines = format === 'jsonl' ? jsonLines(items) : jsonArray(items);
  return [Readable.from(lines, { objectMode: true }), new Coalesce()];
}

export function exportFileName(crawl: Crawl, format: ExportFormat): string {
  // Crawl names and ids use only [A-Za-z0-9_.-], so the name needs no quoting beyond the quotes.
  return `${crawl.name}-${crawl.id}.${format}`;
}

/**
 * Streams the export into an HTTP response. Resolves when it is sent; when the
 * client disconnects (or storage fails) the whole pipeline is destroyed, which
 * ends the item generator, and the connection is closed mid-body so the
 * client can tell the download is incomplete.
 */
export async function sendExport(res: Response, storage: Storage, crawl: Crawl, format: ExportFormat, options: ExportOptions = {}): Promise<void> {
  res.status(200);
  res.setHeader('content-type', EXPORT_CONTENT_TYPES[format]);
  res.setHeader('content-disposition', `attachment; filename="${exportFileName(crawl, format)}"`);
  res.setHeader('cache-control', 'no-store');
  res.setHeader('x-content-type-options', 'nosniff');
  const [source, ...steps] = exportStreams(storage, crawl, format, options);
  try {
    await pipeline([source, ...steps, res]);
  } catch (error) {
    // A client that went away is no error of the hub's; anything else is reported by the caller.
    if (res.destroyed && isPrematureClose(error)) return;
    throw error;
  }
}

export function isPrematureClose(error: unknown): boolean {
  const code = (error as { code?: unknown } | null)?.code;
  return code === 'ERR_STREAM_PREMATURE_CLOSE' || code === 'ECONNRESET' || code === 'EPIPE' || code === 'ERR_STREAM_DESTROYED';
}
