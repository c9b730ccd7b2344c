// `crowdcrawl export ID --follow [--after CURSOR]`: the crawl's item feed (GET
// /api/crawls/:id/feed) as JSON Lines, to stdout or appended to a file, while
// the crawl runs. Every line carries its cursor; the command remembers the
// last one so it can say where to resume if the stream stops.
import { createWriteStream } from 'node:fs';
import { Transform, type Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';

/** The last `"cursor":N` at the start of a complete line, in a stream of JSON Lines. */
export class CursorTracker extends Transform {
  last: number;
  entries = 0;
  private tail = '';

  constructor(after: number) {
    super();
    this.last = after;
  }

  override _transform(chunk: Buffer, _encoding: BufferEncoding, done: (error?: Error | null, data?: Buffer) => void): void {
    const text = this.tail + chunk.toString('utf8');
    const end = text.lastIndexOf('\n');
    if (end >= 0) {
      const lines = text.slice(0, end).split('\n');
      this.entries += lines.length;
      const match = /^\{"cursor":(\d+)/.exec(lines.at(-1)!);
      if (match) this.last = Number(match[1]);
      this.tail = text.slice(end + 1);
    } else {
      this.tail = text;
    }
    done(null, chunk);
  }
}

export async function followFeed(body: Readable, options: { crawlId: string; after: number; follow: boolean; output: string | undefined }): Promise<number> {
  const tracker = new CursorTracker(options.after);
  const resume = (): string => `crowdcrawl export ${options.crawlId} --follow --after ${tracker.last}`;
  try {
    // A file is appended to: a resumed follow continues the same file.
    await pipeline(body, tracker, options.output === undefined ? process.stdout : createWriteStream(options.output, { flags: 'a' }));
  } catch (error) {
    if ((error as { code?: string }).code === 'EPIPE') return 0;
    const message = error instanceof Error ? error.message : String(error);
    throw new Error(`the stream stopped (${message}) after cursor ${tracker.last}; resume with: ${resume()}`);
  }
  const where = options.follow ? 'followed the crawl to its end' : 'read the feed';
  console.error(`${where}: ${tracker.entries} entries${options.output ? ` appended to ${options.output}` : ''}; last cursor ${tracker.last} (later withdrawals: ${resume()})`);
  return 0;
}
