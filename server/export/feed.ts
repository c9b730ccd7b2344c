// Following a crawl's items as they become valid: the item feed (Storage.itemFeed)
// as JSON Lines, from a cursor, optionally kept open while the crawl runs
// (GET /api/crawls/:id/feed?after=N&follow=true, `crowdcrawl export ID --follow`).
//
// Each line is an entry with its cursor: an item, as in the JSON Lines export
// plus its cursor and id, or a withdrawal (a tombstone: a caught cheater's item
// removed). Entries come in the order they were committed, and an item is
// committed only once it is valid, so a follower sees items in the order they
// became valid and never one that is still waiting for a check. Resuming with
// `after` set to the last cursor read gives exactly what came after it.
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { Response } from 'express';
import type { FeedEntry, Storage } from '../storage/storage.ts';
import type { Crawl } from '../crawl/crawl.ts';
import { EXPORT_CONTENT_TYPES, isPrematureClose, jsonRecord } from './export.ts';

/** Entries read per query. */
const READ_BATCH = 1000;

/** `{"cursor":N,"id":…,"url":…,"type":…,"data":{…},"specVersion":…,"extractedAt":…}` or `{"cursor":N,"withdrawn":ID}`. */
export function feedRecord(entry: FeedEntry): string {
  if ('withdrawn' in entry) return `{"cursor":${entry.cursor},"withdrawn":${entry.withdrawn}}`;
  return `{"cursor":${entry.cursor},"id":${entry.item.id},${jsonRecord(entry.item).slice(1)}`;
}

/**
 * Tells a follower that the crawl's items or status changed. `wait` resolves at
 * once when a change came since the last `clear` (so a change between a read
 * and the wait is never missed), else at the next change or abort.
 */
export class FeedChanges {
  private dirty = false;
  private wake: (() => void) | undefined;

  notify(): void {
    this.dirty = true;
    this.wake?.();
  }

  clear(): void {
    this.dirty = false;
  }

  wait(signal: AbortSignal): Promise<void> {
    if (this.dirty || signal.aborted) return Promise.resolve();
    return new Promise((resolve) => {
      const done = (): void => {
        this.wake = undefined;
        signal.removeEventListener('abort', done);
        resolve();
      };
      this.wake = done;
      signal.addEventListener('abort', done);
    });
  }
}

export interface FeedOptions {
  /** The cursor to start after (0: from the start). */
  after: number;
  /** Keep the stream open until the crawl has ended, sending entries as they commit. */
  follow: boolean;
  changes: FeedChanges;
  /** Aborted when the client goes away. */
  signal: AbortSignal;
}

const hasEnded = (crawl: Crawl): boolean => crawl.status === 'finished' || crawl.status === 'cancelled' || crawl.status === 'failed';

async function* feedLines(storage: Storage, crawl: Crawl, options: FeedOptions): AsyncGenerator<string> {
  let cursor = options.after;
  while (!options.signal.aborted) {
    // Seen before the read: an ended crawl's last entries were committed before it ended, so this read has them.
    const ended = hasEnded(crawl);
    options.changes.clear();
    const entries = await storage.itemFeed(crawl.id, cursor, READ_BATCH);
    if (entries.length > 0) {
      let chunk = '';
      for (const entry of entries) chunk += `${feedRecord(entry)}\n`;
      cursor = entries.at(-1)!.cursor;
      // One write per batch, not gathered into larger pieces: a follower gets entries as they commit.
      yield chunk;
    }
    if (entries.length === READ_BATCH) continue;
    if (!options.follow || ended) return;
    await options.changes.wait(options.signal);
  }
}

/** Streams the feed into `res`; resolves when it ends (the crawl ended, or not following) or the client left. */
export async function sendFeed(res: Response, storage: Storage, crawl: Crawl, options: FeedOptions): Promise<void> {
  res.status(200);
  res.setHeader('content-type', EXPORT_CONTENT_TYPES.jsonl);
  res.setHeader('cache-control', 'no-store');
  res.setHeader('x-content-type-options', 'nosniff');
  // A reverse proxy (nginx) must pass lines on as they come, not buffer the response.
  res.setHeader('x-accel-buffering', 'no');
  res.flushHeaders();
  try {
    await pipeline(Readable.from(feedLines(storage, crawl, options), { objectMode: true }), res);
  } catch (error) {
    if (res.destroyed && isPrematureClose(error)) return;
    throw error;
  }
}
