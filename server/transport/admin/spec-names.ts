// Names and ids for the console's library of specs: what storage does not
// decide. Storage keeps names unique regardless of case (SpecNameTakenError);
// here a duplicate gets a free name and a new spec its id.
import { randomBytes } from 'node:crypto';
import type { Storage } from '../../storage/storage.ts';

/** A new saved spec's id: 16 hex digits. */
export function newSpecId(): string {
  return randomBytes(8).toString('hex');
}

/** A free name for a copy of `name`: "name (copy)", "name (copy 2)", ... */
export async function copyName(storage: Pick<Storage, 'specNameTaken'>, name: string): Promise<string> {
  const base = name.replace(/ \(copy(?: \d+)?\)$/, '').slice(0, 90);
  for (let n = 1; ; n++) {
    const candidate = n === 1 ? `${base} (copy)` : `${base} (copy ${n})`;
    if (!(await storage.specNameTaken(candidate))) return candidate;
  }
}
