// Who may show which nickname on the board: names are unique by their
// confusable skeleton (shared/names.ts), so "alice", "Alice" and "аlice" (a
// Cyrillic а) cannot be three people on one board. The first browser (client
// id) to show a name owns its skeleton; another browser asking for a taken
// name is not refused but shown with a number, "alice (2)", and told so in the
// welcome. A browser keeps what it was given: its tabs and reconnects get the
// same shown name, and so does the same browser after a hub restart (the
// board's stored rows are read back in). A name is held while one of its
// sessions is connected; once it has a validated page it is held for good,
// so sockets that never contribute cannot squat names, nor fill memory.
import { nameSkeleton, numberedName } from '../../shared/name-skeleton.ts';
import type { Engine } from '../engine/engine.ts';
import type { WorkerSession } from '../lease/workers.ts';

interface Owner {
  readonly clientId: string;
  /** Sessions connected under a name of this skeleton. */
  sessions: number;
  /** Has a validated page: the name stays its owner's after it leaves. */
  credited: boolean;
  /** Entries of `given` and `mine` that lead here, dropped with it. */
  readonly keys: string[];
}

/** A map key of a client id and a name or skeleton. */
const key = (clientId: string, text: string) => `${clientId}\0${text}`;
const NUMBERED = /^(.*) \((\d+)\)$/su;

export class NameRegistry {
  /** Skeleton → its owner. */
  private readonly owners = new Map<string, Owner>();
  /** (client id, name asked for) → name shown: a reconnect asks again and gets the same. */
  private readonly given = new Map<string, string>();
  /** (client id, skeleton of a base name) → the numbered name it was shown (survives a restart, unlike what it asked for). */
  private readonly mine = new Map<string, string>();
  /** Skeleton of a base name → the next number to try, so a crowd of "alice"s is not searched from 2 each time. */
  private readonly nextNumber = new Map<string, number>();

  /** The name a session of `clientId` asking for `name` (already checked) is shown; call left() when it goes. */
  claim(clientId: string, name: string): string {
    const shown = this.shownFor(clientId, name) ?? this.pickNumbered(clientId, name);
    const skeleton = nameSkeleton(shown);
    let owner = this.owners.get(skeleton);
    if (!owner) {
      owner = { clientId, sessions: 0, credited: false, keys: [] };
      this.owners.set(skeleton, owner);
    }
    owner.sessions++;
    this.remember(owner, this.given, key(clientId, name), shown);
    const numbered = NUMBERED.exec(shown);
    if (numbered && shown !== name) this.remember(owner, this.mine, key(clientId, nameSkeleton(name)), shown);
    return shown;
  }

  /**
   * The name `clientId` asking for `name` is (or would be) shown, if it is
   * known or free; undefined when it would be numbered anew.
   */
  shownFor(clientId: string, name: string): string | undefined {
    const given = this.given.get(key(clientId, name));
    if (given !== undefined && this.ownedBy(given, clientId)) return given;
    const owner = this.owners.get(nameSkeleton(name));
    if (!owner || owner.clientId === clientId) return name;
    const numbered = this.mine.get(key(clientId, nameSkeleton(name)));
    if (numbered !== undefined && this.ownedBy(numbered, clientId)) return numbered;
    return undefined;
  }

  /** A session shown as `name` left: the name is free again if none is left and it never had a validated page. */
  left(clientId: string, name: string): void {
    const skeleton = nameSkeleton(name);
    const owner = this.owners.get(skeleton);
    if (!owner || owner.clientId !== clientId) return;
    owner.sessions = Math.max(0, owner.sessions - 1);
    if (owner.sessions > 0 || owner.credited) return;
    this.owners.delete(skeleton);
    for (const k of owner.keys) {
      this.given.delete(k);
      this.mine.delete(k);
    }
  }

  /** A validated page under `name`: it is its owner's for good. */
  credit(clientId: string, name: string): void {
    const owner = this.owners.get(nameSkeleton(name));
    if (owner?.clientId === clientId) owner.credited = true;
  }

  /** Names contributors had before a restart (most pages first: on a clash the first keeps it). */
  seed(rows: Iterable<{ clientId: string; name: string }>): void {
    for (const { clientId, name } of rows) {
      const skeleton = nameSkeleton(name);
      let owner = this.owners.get(skeleton);
      if (!owner) {
        owner = { clientId, sessions: 0, credited: true, keys: [] };
        this.owners.set(skeleton, owner);
      }
      if (owner.clientId !== clientId) continue;
      this.remember(owner, this.given, key(clientId, name), name);
      const numbered = NUMBERED.exec(name);
      if (numbered) this.remember(owner, this.mine, key(clientId, nameSkeleton(numbered[1]!)), name);
    }
  }

  /** Names held now (for tests and the log). */
  get size(): number {
    return this.owners.size;
  }

  private ownedBy(name: string, clientId: string): boolean {
    return this.owners.get(nameSkeleton(name))?.clientId === clientId;
  }

  private remember(owner: Owner, map: Map<string, string>, k: string, shown: string): void {
    if (map.get(k) === shown) return;
    map.set(k, shown);
    owner.keys.push(k);
  }

  private pickNumbered(clientId: string, name: string): string {
    const base = nameSkeleton(name);
    for (let n = this.nextNumber.get(base) ?? 2; ; n++) {
      const candidate = numberedName(name, n);
      const owner = this.owners.get(nameSkeleton(candidate));
      if (!owner || owner.clientId === clientId) {
        this.nextNumber.set(base, n + 1);
        return candidate;
      }
    }
  }
}

const registries = new WeakMap<Engine, NameRegistry>();

/**
 * The engine's name registry, made on first use: the worker handshake claims
 * names in it, the board reads them. It follows the engine's events itself (a
 * worker left, a page was validated), so no one else has to.
 */
export function namesFor(engine: Engine): NameRegistry {
  let names = registries.get(engine);
  if (names) return names;
  const registry = new NameRegistry();
  names = registry;
  registries.set(engine, registry);
  engine.on('workerLeft', (worker: WorkerSession) => registry.left(worker.clientId, worker.name));
  engine.on('page', (worker: WorkerSession | undefined) => {
    if (worker) registry.credit(worker.clientId, worker.name);
  });
  return registry;
}
