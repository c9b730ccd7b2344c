// Helpers for the admin API tests: a real hub on port 0 without workers, calls
// to its API, items stored straight through the store, and a CSV reader.
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { startHub, type Hub } from '../../../../server/app.ts';

export const ADMIN_TOKEN = 'x'.repeat(32);

export type TestHub = Hub & { cleanup(): Promise<void> };

export async function startAdminTestHub(): Promise<TestHub> {
  const dataDir = mkdtempSync(join(tmpdir(), 'crowdcrawl-admin-'));
  const hub = await startHub({ port: 0, dataDir, adminToken: ADMIN_TOKEN, log: () => {} });
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

/** Stores items for a crawl as a worker's results would be stored (one transaction). */
export function insertItems(hub: Hub, crawlId: string, items: Iterable<TestItem>, createdAt = Date.UTC(2025, 0, 2, 3, 4, 5)): number {
  const crawl = hub.core.crawls.require(crawlId);
  let n = 0;
  hub.core.store.transaction(() => {
    for (const item of items) {
      hub.core.store.insertItem({
        crawlId,
        requestKey: item.url,
        url: item.url,
        type: item.type,
        data: JSON.stringify(item.data),
        specVersion: crawl.specVersion,
        worker: 'test-worker',
        createdAt,
      });
      n++;
    }
    hub.core.store.bumpCounters(crawlId, { items: n });
  });
  crawl.items += n;
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
