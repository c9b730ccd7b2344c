// Bans, by browser (client id) and by address: kept in storage, held in memory
// for the check made on every connection. A cheater caught by validation is
// banned both ways, so neither a new client id nor a new nickname gets it back
// in; the operator lifts a ban from the console (docs/trust.md). Hubs sharing
// a database read the bans again on every fleet heartbeat (refresh), so a ban
// made on one hub holds on all of them within a heartbeat.
import type { BanKind, BanRow, Storage } from '../storage/storage.ts';

export class Bans {
  private readonly storage: Storage;
  private readonly rows = new Map<string, BanRow>();
  /** Bumped by every add and remove here: a refresh read while one was under way is not applied (the next one is). */
  private changes = 0;

  constructor(storage: Storage) {
    this.storage = storage;
  }

  async load(): Promise<void> {
    for (const row of await this.storage.listBans()) this.rows.set(`${row.kind}:${row.value}`, row);
  }

  /** Reads the bans again (other hubs add and lift them); answers those new here. */
  async refresh(): Promise<BanRow[]> {
    const before = this.changes;
    const rows = await this.storage.listBans();
    if (this.changes !== before) return [];
    const stored = new Set<string>();
    const added: BanRow[] = [];
    for (const row of rows) {
      const key = `${row.kind}:${row.value}`;
      stored.add(key);
      if (this.rows.has(key)) continue;
      this.rows.set(key, row);
      added.push(row);
    }
    for (const key of [...this.rows.keys()]) if (!stored.has(key)) this.rows.delete(key);
    return added;
  }

  has(clientId: string, address?: string): boolean {
    return this.rows.has(`client:${clientId}`) || (address !== undefined && this.rows.has(`address:${address}`));
  }

  list(): BanRow[] {
    return [...this.rows.values()].sort((a, b) => b.createdAt - a.createdAt);
  }

  /** Stored first: a ban the hub answered for survives a restart. False when it was already there. */
  async add(row: BanRow): Promise<boolean> {
    const key = `${row.kind}:${row.value}`;
    if (this.rows.has(key)) return false;
    this.changes++;
    await this.storage.addBan(row);
    this.rows.set(key, row);
    return true;
  }

  async remove(kind: BanKind, value: string): Promise<boolean> {
    this.changes++;
    const removed = await this.storage.removeBan(kind, value);
    this.rows.delete(`${kind}:${value}`);
    return removed;
  }
}
