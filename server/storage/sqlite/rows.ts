// SQLite rows (snake_case columns, integer states) to the storage interface's
// rows (camelCase, states by name).
import type { ContributorRow, CrawlRow, QueuedEntry, RequestRow, SavedSpecRow, SourceRow, StoredItem } from '../storage.ts';
import { SOURCE_STATE_NAMES, STATE_NAMES } from './statements.ts';

type Row = Record<string, unknown>;

/** key, url, host, depth, seq, attempts, not_before, as an array (see statements.ts). */
export type QueuedArray = [string, string, string, number, number, number, number];

export function queuedEntry(r: QueuedArray): QueuedEntry {
  return { key: r[0], url: r[1], host: r[2], depth: r[3], seq: r[4], attempts: r[5], notBefore: r[6] };
}

const num = (v: unknown): number => Number(v);
const numOrNull = (v: unknown): number | null => (v === null || v === undefined ? null : Number(v));
const strOrNull = (v: unknown): string | null => (v === null || v === undefined ? null : String(v));

export function crawlRow(value: unknown): CrawlRow {
  const r = value as Row;
  return {
    id: String(r.id),
    name: String(r.name),
    spec: String(r.spec),
    specVersion: num(r.spec_version),
    status: r.status as CrawlRow['status'],
    finishReason: strOrNull(r.finish_reason),
    createdAt: num(r.created_at),
    startedAt: numOrNull(r.started_at),
    finishedAt: numOrNull(r.finished_at),
    pagesDone: num(r.pages_done),
    pagesFailed: num(r.pages_failed),
    pagesSkipped: num(r.pages_skipped),
    items: num(r.items_count),
    validation: {
      checked: num(r.pages_checked),
      trusted: num(r.pages_trusted),
      rejected: num(r.results_rejected),
      extraExtractions: num(r.extra_extractions),
      itemsWithdrawn: num(r.items_withdrawn),
    },
  };
}

export function requestRow(value: unknown): RequestRow {
  const r = value as Row;
  return {
    key: String(r.key),
    url: String(r.url),
    host: String(r.host),
    depth: num(r.depth),
    seq: num(r.seq),
    state: STATE_NAMES[num(r.state)] ?? 'queued',
    attempts: num(r.attempts),
    notBefore: num(r.not_before),
    finalUrl: strOrNull(r.final_url),
    httpStatus: numOrNull(r.http_status),
    contentHash: strOrNull(r.content_hash),
    items: numOrNull(r.items),
    links: numOrNull(r.links),
    worker: strOrNull(r.worker),
    leaseId: strOrNull(r.lease_id),
    specVersion: numOrNull(r.spec_version),
    errorCode: strOrNull(r.error_code),
    errorMessage: strOrNull(r.error_message),
    doneAt: numOrNull(r.done_at),
  };
}

export function sourceRow(value: unknown): SourceRow {
  const r = value as Row;
  return {
    url: String(r.url),
    kind: r.kind as SourceRow['kind'],
    scopeBase: String(r.scope_base),
    nesting: num(r.nesting),
    state: SOURCE_STATE_NAMES[num(r.state)] ?? 'pending',
    attempts: num(r.attempts),
    notBefore: num(r.not_before),
    urlsQueued: num(r.urls_queued),
    errorCode: strOrNull(r.error_code),
    errorMessage: strOrNull(r.error_message),
    doneAt: numOrNull(r.done_at),
  };
}

export function storedItem(value: unknown): StoredItem {
  const r = value as Row;
  return {
    id: num(r.id),
    url: String(r.url),
    type: String(r.type),
    data: String(r.data),
    specVersion: num(r.spec_version),
    worker: strOrNull(r.worker),
    createdAt: num(r.created_at),
  };
}

export function contributorRow(value: unknown): ContributorRow {
  const r = value as Row;
  return {
    id: String(r.id),
    clientId: String(r.client_id),
    name: String(r.name),
    kind: r.kind as ContributorRow['kind'],
    pages: num(r.pages),
    items: num(r.items),
    firstSeenAt: num(r.first_seen_at),
    lastSeenAt: num(r.last_seen_at),
  };
}

export function savedSpecRow(value: unknown): SavedSpecRow {
  const r = value as Row;
  return {
    id: String(r.id),
    name: String(r.name),
    spec: String(r.spec),
    createdAt: num(r.created_at),
    updatedAt: num(r.updated_at),
  };
}
