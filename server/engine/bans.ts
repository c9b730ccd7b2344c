// Banned browsers, by client id: kept in storage, held in memory for the check
// made on every connection.
import type { Storage } from '../storage/storage.ts';

export class Bans {
  private readonly storage: Storage;
  private readonly ids = new Set<string>();

  constructor(storage: Storage) {
    this.storage = storage;
  }

  async load(): Promise<void> {
    for (const id of await this.storage.listBans()) this.ids.add(id);
  }

  has(clientId: string): boolean {
    return this.ids.has(clientId);
  }

  /** Stored first: a ban the hub answered for survives a restart. */
  async add(clientId: string): Promise<void> {
    await this.storage.addBan(clientId);
    this.ids.add(clientId);
  }
}
