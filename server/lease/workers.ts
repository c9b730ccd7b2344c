// The workers connected to a hub: their sessions, found by id or by the secret
// that proves them on relay requests, and which of them may have free capacity
// (served in turn by the dispatcher).
import { randomBytes } from 'node:crypto';
import type { Lease, PushedPage, WorkerKind } from '../../shared/protocol.ts';

export interface WorkerSession {
  readonly id: string;
  /** Proves the worker on relay requests; never shown to anyone else. */
  readonly secret: string;
  readonly name: string;
  readonly kind: WorkerKind;
  readonly clientId: string;
  readonly address: string;
  /** Connected with a worker token the operator issued: its results are trusted without checks. */
  readonly operatorTrusted: boolean;
  /** The id of that token, to disconnect its workers when it is revoked. */
  readonly tokenId: string | null;
  readonly connectedAt: number;
  capacity: number;
  pagesDone: number;
  items: number;
  failures: number;
  /** Completion times of recent pages, for a pages-per-minute figure. */
  recent: number[];
  send(leases: Lease[]): void;
  revoke(leaseIds: string[]): void;
  /** Page push (issue 11): set when the worker takes its leases' pages pushed (server/engine/page-push.ts). */
  pushPages?: ((pages: PushedPage[]) => void) | undefined;
  disconnect(reason: string): void;
}

export class WorkerRegistry {
  private readonly sessions = new Map<string, WorkerSession>();
  private readonly bySecret = new Map<string, WorkerSession>();
  /** Workers that may have free capacity, in the order they get served (moved to the back when served). */
  private readonly hungry = new Map<string, WorkerSession>();

  add(init: Omit<WorkerSession, 'id' | 'secret' | 'connectedAt' | 'pagesDone' | 'items' | 'failures' | 'recent'>, now: number): WorkerSession {
    const session: WorkerSession = {
      ...init,
      id: randomBytes(9).toString('base64url'),
      secret: randomBytes(24).toString('base64url'),
      connectedAt: now,
      pagesDone: 0,
      items: 0,
      failures: 0,
      recent: [],
    };
    this.sessions.set(session.id, session);
    this.bySecret.set(session.secret, session);
    this.hungry.set(session.id, session);
    return session;
  }

  remove(id: string): WorkerSession | undefined {
    const session = this.sessions.get(id);
    if (!session) return undefined;
    this.sessions.delete(id);
    this.bySecret.delete(session.secret);
    this.hungry.delete(id);
    return session;
  }

  get(id: string): WorkerSession | undefined {
    return this.sessions.get(id);
  }

  bySecretToken(secret: string): WorkerSession | undefined {
    return this.bySecret.get(secret);
  }

  all(): IterableIterator<WorkerSession> {
    return this.sessions.values();
  }

  get size(): number {
    return this.sessions.size;
  }

  /** Marks a worker as possibly having free capacity. */
  /** Tells each worker which of its leases were taken back; they may take more. */
  revoked(leases: Iterable<{ id: string; workerId: string }>): void {
    const byWorker = new Map<string, string[]>();
    for (const lease of leases) byWorker.set(lease.workerId, [...(byWorker.get(lease.workerId) ?? []), lease.id]);
    for (const [workerId, ids] of byWorker) {
      const worker = this.get(workerId);
      if (!worker) continue;
      worker.revoke(ids);
      this.markHungry(worker);
    }
  }

  markHungry(session: WorkerSession): void {
    if (this.sessions.has(session.id) && !this.hungry.has(session.id)) this.hungry.set(session.id, session);
  }

  hungryWorkers(): IterableIterator<WorkerSession> {
    return this.hungry.values();
  }

  served(session: WorkerSession, stillHungry: boolean): void {
    this.hungry.delete(session.id);
    if (stillHungry) this.hungry.set(session.id, session);
  }

  notHungry(session: WorkerSession): void {
    this.hungry.delete(session.id);
  }
}
