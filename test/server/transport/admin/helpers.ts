// Helpers for the admin API tests: a real hub on port 0 without workers, calls
// to its API, items stored through storage's write methods, and a CSV reader.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createHash } from 'node:crypto';
import { startHub, type Hub } from '../../../../server/app.ts';
import type { HubOptions } from '../../../../server/options.ts';
import type { ItemData, PageRecord } from '../../../../server/storage/storage.ts';

export const ADMIN_TOKEN = 'x'.repeat(32);

export type TestHub = Hub & { cleanup(): Promise<void> };

export async function startAdminTestHub(options: HubOptions = {}): Promise<TestHub> {
  const dataDir = mkdtempSync(join(tmpdir(), 'crowdcrawl-admin-'));
  const hub = await startHub({ port: 0, dataDir, adminToken: ADMIN_TOKEN, log: () => {}, ...options });
  return Object.assign(hub, {
    async cleanup() {
      await hub.close();
      rmSync(dataDir, { recursive: true, force: true });
    },
  });
}

export interface ApiResponse {
  status: number;
  headers: Headers;
  body: any;
}

/** Calls the admin API with the admin token (or `token`, or none when null). */
export async function api(
  hub: Hub,
  method: string,
  path: string,
  options: { body?: unknown; rawBody?: string; contentType?: string; token?: string | null } = {},
): Promise<ApiResponse> {
  const headers: Record<string, string> = {};
  const token = options.token === undefined ? ADMIN_TOKEN : options.token;
  if (token !== null) headers.authorization = `Bearer ${token}`;
  let body: string | undefined;
  if (options.rawBody !== undefined) body = options.rawBody;
  else if (options.body !== undefined) body = JSON.stringify(options.body);
  if (body !== undefined) headers['content-type'] = options.contentType ?? 'application/json';
  const response = await fetch(`${hub.url}/api${path}`, { method, headers, ...(body === undefined ? {} : { body }) });
  const text = await response.text();
  let parsed: unknown = text;
  if ((response.headers.get('content-type') ?? '').includes('json') && text !== '') {
    try {
      parsed = JSON.parse(text);
    } catch {
      // an export in JSON Lines is not one JSON document; keep the text
    }
  }
  return { status: response.status, headers: response.headers, body: parsed };
}

/** A spec whose start URL is never fetched (no worker runs in these tests). */
export function testSpec(extra: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    name: 'books',
    startUrls: ['http://127.0.0.1:9/catalogue/'],
    items: [{ selector: 'article', fields: { title: 'h3 a::attr(title)', price: '.price::text' } }],
    ...extra,
  };
}

export interface TestItem {
  url: string;
  type: string;
  data: Record<string, string | string[] | null>;
}

/**
 * Stores items for a crawl as workers' results would be stored: each run of
 * items from one URL is one page's result (`recordPage`), all in one group
 * commit. The pages are queued as links of a page for one of the crawl's start
 * URLs (recorded with no items), so every item has its done request, as a
 * real crawl would leave it; the crawl's counters count the pages and items
 * once storage committed them. Resolves with the number of items stored.
 */
export async function insertItems(hub: Hub, crawlId: string, items: Iterable<TestItem>, createdAt = Date.UTC(2025, 0, 2, 3, 4, 5)): Promise<number> {
  const crawl = hub.engine.crawls.require(crawlId);
  const [start] = await hub.storage.requestsByState(crawlId, 'queued', 1, 0);
  if (!start) throw new Error(`crawl ${crawlId} has no queued URL to record the items' pages under`);
  const page = (key: string, url: string, pageItems: PageRecord['items'], links: PageRecord['links']): PageRecord => ({
    crawlId,
    key,
    finalUrl: url,
    httpStatus: 200,
    contentHash: createHash('sha256').update(key).digest('hex'),
    items: pageItems,
    links,
    worker: 'test-worker',
    leaseId: `test-lease-${key}`,
    specVersion: crawl.specVersion,
    doneAt: createdAt,
    clientId: 'test-client',
    validation: 'checked',
    resultDigest: key,
    rejected: 0,
    extraExtractions: 0,
  });
  // Runs of items from the same URL, in order; each run gets a key of its own.
  const runs: { key: string; url: string; items: ItemData[] }[] = [];
  let n = 0;
  for (const item of items) {
    const last = runs.at(-1);
    const data = { type: item.type, data: item.data };
    if (last && last.url === item.url) last.items.push(data);
    else runs.push({ key: `${item.url}#test-${runs.length}`, url: item.url, items: [data] });
    n++;
  }
  const links = runs.map((r) => ({ url: r.url, key: r.key, host: new URL(r.url).host, depth: start.depth + 1 }));
  // Queued in one turn, these writes commit in one transaction, in this order (so items keep their order).
  const writes = [hub.storage.recordPage(page(start.key, start.url, [], links))];
  for (const r of runs) writes.push(hub.storage.recordPage(page(r.key, r.url, r.items, [])));
  const results = await Promise.all(writes);
  const notRecorded = results.filter((r) => !r.recorded).length;
  if (notRecorded > 0) throw new Error(`${notRecorded} of ${results.length} test pages were not recorded`);
  if (results[0]!.queued.length !== runs.length) throw new Error(`${results[0]!.queued.length} of ${runs.length} test pages were queued`);
  crawl.count({ done: results.length, items: n });
  return n;
}

/** Reads RFC 4180 CSV (quoted fields may hold commas, doubled quotes, CR and LF). */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let cell = '';
  let quoted = false;
  for (let i = 0; i < text.length; i++) {
    const c = text[i]!;
    if (quoted) {
      if (c === '"' && text[i + 1] === '"') {
        cell += '"';
        i++;
      } else if (c === '"') quoted = false;
      else cell += c;
    } else if (c === '"') quoted = true;
    else if (c === ',') {
      row.push(cell);
      cell = '';
    } else if (c === '\n' || (c === '\r' && text[i + 1] === '\n')) {
      if (c === '\r') i++;
      row.push(cell);
      rows.push(row);
      row = [];
      cell = '';
    } else cell += c;
  }
  if (quoted) throw new Error('CSV ends inside a quoted field');
  if (cell !== '' || row.length > 0) {
    row.push(cell);
    rows.push(row);
  }
  return rows;
}
