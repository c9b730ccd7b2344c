// Numbers, times and labels as the console shows them.
import type { AdminCrawlProgress } from '../../../shared/admin-protocol.ts';

const integer = new Intl.NumberFormat('en', { maximumFractionDigits: 0 });
const oneDecimal = new Intl.NumberFormat('en', { minimumFractionDigits: 1, maximumFractionDigits: 1 });

export function count(n: number): string {
  return integer.format(n);
}

const upToOneDecimal = new Intl.NumberFormat('en', { maximumFractionDigits: 1 });

/** A share (0..1) as a percentage: "100%", "12%", "2.5%". */
export function percent(share: number): string {
  const p = share * 100;
  return `${p >= 10 ? integer.format(p) : upToOneDecimal.format(p)}%`;
}

export function rate(n: number): string {
  return n >= 100 ? integer.format(n) : oneDecimal.format(n);
}

export const FINISH_REASONS: Record<string, string> = {
  completed: 'nothing left to crawl',
  maxPages: 'reached its page limit',
  maxDuration: 'reached its time limit',
  cancelled: 'cancelled by the operator',
};

/** "3s", "4m 05s", "2h 10m", "3d 4h". */
export function duration(ms: number): string {
  const s = Math.max(0, Math.round(ms / 1000));
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  if (h < 48) return `${h}h ${String(m % 60).padStart(2, '0')}m`;
  return `${Math.floor(h / 24)}d ${h % 24}h`;
}

export function ago(at: number, now = Date.now()): string {
  const ms = now - at;
  if (ms < 5000) return 'just now';
  return `${duration(ms)} ago`;
}

export function dateTime(at: number): string {
  return new Date(at).toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'short' });
}

/** Pages the crawl will have handled when it ends, as far as the hub knows now. */
export function target(c: AdminCrawlProgress): number {
  const known = c.done + c.failed + c.skipped + c.queued + c.inFlight;
  return c.maxPages !== null ? Math.min(c.maxPages, known) : known;
}

/** 0..1; a finished crawl is full. */
export function progressOf(c: AdminCrawlProgress): number {
  if (c.status === 'finished') return 1;
  const t = target(c);
  return t === 0 ? 0 : Math.min(1, (c.done + c.failed + c.skipped) / t);
}

export function shortUrl(url: string, max = 70): string {
  const bare = url.replace(/^https?:\/\//, '');
  if (bare.length <= max) return bare;
  const head = Math.ceil((max - 1) * 0.6);
  return `${bare.slice(0, head)}…${bare.slice(bare.length - (max - 1 - head))}`;
}

/** A field's value in a table cell: lists joined, null as an empty cell. */
export function cell(value: string | string[] | null | undefined): string {
  if (value === null || value === undefined) return '';
  return Array.isArray(value) ? value.join(' · ') : value;
}
