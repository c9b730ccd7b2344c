// Bans, by browser (client id) and by address: kept in storage, held in memory
// for the check made on every connection. A cheater caught by validation is
// banned both ways, so neither a new client id nor a new nickname gets it back
// in; the operator lifts a ban from the console (docs/trust.md).
import type { BanKind, BanRow, Storage } from '../storage/storage.ts';

export class Bans {
  private readonly storage: Storage;
  private readonly rows = new Map<string, BanRow>();

  constructor(storage: Storage) {
    this.storage = storage;
  }

  async load(): Promise<void> {
    for (const row of await this.storage.listBans()) this.rows.set(`${row.kind}:${row.value}`, row);
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
    await this.storage.addBan(row);
    this.rows.set(key, row);
    return true;
  }

  async remove(kind: BanKind, value: string): Promise<boolean> {
    const removed = await this.storage.removeBan(kind, value);
    this.rows.delete(`${kind}:${value}`);
    return removed;
  }
}
