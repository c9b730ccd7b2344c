// Hosts that wait in storage, not in memory: a crawl's frontier holds a
// bounded set of hosts, and finds the others by an index seek per host (hosts
// in byte order, a cursor moving on), in the background, when there is room.
import type { Storage } from '../storage/storage.ts';

export class DormantHosts {
  private readonly storage: Storage;
  private readonly crawlId: string;
  /** Storage may hold queued URLs of hosts that are not in memory. */
  pending = false;
  private scanning = false;
  /** Where the scan goes on from ('' is the start). */
  private cursor = '';
  /** The current scan began at the start and has not (yet) met a host that was not in memory. */
  private cleanPass = false;

  private readonly inMemoryCount: () => number;

  constructor(storage: Storage, crawlId: string, inMemoryCount: () => number) {
    this.storage = storage;
    this.crawlId = crawlId;
    this.inMemoryCount = inMemoryCount;
  }

  /** A host was left in storage, possibly behind the scan: the scan under way cannot prove there are none left. */
  mark(): void {
    this.pending = true;
    this.cleanPass = false;
  }

  /** Forgets everything (the crawl ended, or memory is rebuilt from storage). */
  reset(pending: boolean): void {
    this.cursor = '';
    this.pending = false;
    if (pending) this.mark();
  }

  /**
   * Looks for up to `room` hosts that are not in memory and brings each in with
   * `activate`; resolves with how many it found, or undefined when no scan was
   * needed or one is already under way.
   */
  scan(room: number, inMemory: (host: string) => boolean, activate: (host: string) => void, stopped: () => boolean): Promise<number> | undefined {
    if (!this.pending || this.scanning || room <= 0) return undefined;
    this.scanning = true;
    return this.run(room, inMemory, activate, stopped).finally(() => {
      this.scanning = false;
    });
  }

  private async run(room: number, inMemory: (host: string) => boolean, activate: (host: string) => void, stopped: () => boolean): Promise<number> {
    let found = 0;
    // Every seek moves the cursor on; a pass over all hosts ends the loop at the latest.
    let seeks = 0;
    const maxSeeks = this.inMemoryCount() + room + 2;
    while (found < room && !stopped()) {
      if (seeks++ >= maxSeeks) break;
      const name = await this.storage.nextQueuedHost(this.crawlId, this.cursor);
      if (name === undefined) {
        if (this.cleanPass) {
          // A whole pass met only hosts in memory: nothing waits in storage.
          this.pending = false;
          break;
        }
        this.cursor = '';
        this.cleanPass = true;
        continue;
      }
      this.cursor = name;
      if (inMemory(name)) continue;
      this.cleanPass = false;
      activate(name);
      found++;
    }
    return found;
  }
}
