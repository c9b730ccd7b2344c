// Numbers and labels as the page shows them. Numbers are right-aligned in
// tabular figures, so they change without moving anything around.
import type { WorkerKind } from '../../../shared/protocol.ts';
import type { BoardCrawl } from '../../../shared/board-protocol.ts';
import type { PageActivity } from '../../../shared/worker/loop.ts';
import type { VolunteerState } from '../../../shared/page-api.ts';

const integer = new Intl.NumberFormat(undefined, { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat(undefined, { minimumFractionDigits: 1, maximumFractionDigits: 1 });
const compact = new Intl.NumberFormat(undefined, { notation: 'compact', maximumFractionDigits: 1 });

export function formatCount(n: number): string {
  return n >= 1_000_000 ? compact.format(n) : integer.format(n);
}

export function formatRate(n: number): string {
  return n >= 100 ? integer.format(n) : oneDecimal.format(n);
}

export const KIND_LABELS: Record<WorkerKind, string> = { tab: 'tab', headless: 'headless', node: 'node' };

export const STATE_LABELS: Record<VolunteerState, string> = {
  off: 'Not contributing',
  connecting: 'Connecting…',
  working: 'Crawling',
  idle: 'Waiting for work',
  paused: 'Paused',
  stopped: 'Stopped',
  outdated: 'This page is out of date',
  banned: 'Not allowed on this hub',
};

export const STAGE_LABELS: Record<PageActivity['stage'], string> = {
  queued: 'queued',
  fetching: 'fetching',
  extracting: 'extracting',
  sending: 'sending',
};

/** Pages the crawl will have handled when it ends, as far as the hub knows now. */
export function crawlTarget(crawl: BoardCrawl): number {
  const known = crawl.pagesDone + crawl.pagesFailed + crawl.queued + crawl.inFlight;
  return crawl.maxPages !== null ? Math.min(crawl.maxPages, known) : known;
}

/** 0..1; an ended crawl is full. */
export function crawlProgress(crawl: BoardCrawl): number {
  if (crawl.status === 'finished') return 1;
  const target = crawlTarget(crawl);
  return target === 0 ? 0 : Math.min(1, (crawl.pagesDone + crawl.pagesFailed) / target);
}

/** A URL shortened for one line: no scheme, at most `max` characters with an ellipsis in the middle. */
export function shortUrl(url: string, max = 80): string {
  const bare = url.replace(/^https?:\/\//, '');
  if (bare.length <= max) return bare;
  const head = Math.ceil((max - 1) * 0.6);
  return `${bare.slice(0, head)}…${bare.slice(bare.length - (max - 1 - head))}`;
}
