// The live board as this page sees it: a snapshot from the hub's /board
// namespace, kept current by deltas (only what changed, about once a second).
// A gap in the deltas' sequence numbers asks for a fresh snapshot; a reconnect
// gets one anyway. When the hub speaks another protocol version, the page says
// to reload.
import type { Socket } from 'socket.io-client';
import { BOARD_NAMESPACE, PROTOCOL_VERSION, type ProtocolError } from '../../../shared/protocol.ts';
import {
  compareContributors,
  type BoardClientToServerEvents,
  type BoardContributor,
  type BoardCrawl,
  type BoardDelta,
  type BoardServerToClientEvents,
  type BoardSnapshot,
  type BoardTotals,
} from '../../../shared/board-protocol.ts';
import { closeWhenOffline } from '../lib/offline.ts';
import { connectToHub, type HubConnectError } from '../../shared/hub-socket.ts';
import { ErrorCode } from '../../../shared/errors.ts';

type BoardSocket = Socket<BoardServerToClientEvents, BoardClientToServerEvents>;

export type BoardConnection = 'connecting' | 'live' | 'reconnecting' | 'outdated';

export class BoardState {
  /** The top contributors in board order. */
  rows = $state.raw<BoardContributor[]>([]);
  crawls = $state.raw<BoardCrawl[]>([]);
  totals = $state.raw<BoardTotals | null>(null);
  maxRows = $state(0);
  /** This page's own row (its clientId and nickname), once identified. */
  self = $state.raw<BoardContributor | null>(null);
  selfId = $state<string | null>(null);
  connection = $state<BoardConnection>('connecting');
  error = $state.raw<ProtocolError | null>(null);

  private readonly socket: BoardSocket;
  private readonly rowsById = new Map<string, BoardContributor>();
  private readonly crawlsById = new Map<string, BoardCrawl>();
  private seq = -1;
  private identity: { clientId: string; name: string } | null = null;

  constructor(hubUrl = location.origin) {
    this.socket = connectToHub(`${hubUrl}${BOARD_NAMESPACE}`, { auth: { protocolVersion: PROTOCOL_VERSION } });
    closeWhenOffline(this.socket);
    this.socket.on('connect', () => {
      this.connection = 'live';
      this.error = null;
      this.sendIdentity();
    });
    this.socket.on('disconnect', () => {
      if (this.connection !== 'outdated') this.connection = 'reconnecting';
    });
    this.socket.on('connect_error', (error: HubConnectError) => {
      if (error.data?.code === ErrorCode.PROTOCOL_MISMATCH) {
        this.connection = 'outdated';
        this.error = error.data;
        this.socket.disconnect();
      } else if (this.connection !== 'outdated') {
        this.connection = this.seq < 0 ? 'connecting' : 'reconnecting';
      }
    });
    this.socket.on('board:snapshot', (snapshot) => this.applySnapshot(snapshot));
    this.socket.on('board:delta', (delta) => this.applyDelta(delta));
    this.socket.on('board:self', (row) => {
      if (row.id === this.selfId) this.self = row;
    });
  }

  /** Says which row is this page's (call again when the nickname changes). */
  identify(clientId: string, name: string): void {
    if (this.identity?.clientId === clientId && this.identity.name === name) return;
    this.identity = { clientId, name };
    this.self = null;
    this.selfId = null;
    this.sendIdentity();
  }

  /** Contributors online that the board does not list (it shows the top `maxRows`). */
  get onlineNotListed(): number {
    if (!this.totals) return 0;
    let listed = 0;
    for (const row of this.rows) if (row.online) listed++;
    return Math.max(0, this.totals.contributorsOnline - listed);
  }

  close(): void {
    this.socket.disconnect();
  }

  private sendIdentity(): void {
    const identity = this.identity;
    if (!identity || !this.socket.connected) return;
    this.socket.timeout(10_000).emit('board:identify', identity, (error, reply) => {
      if (error || !reply) return; // the next connect sends it again
      if (this.identity !== identity) return;
      if (reply.ok) {
        this.selfId = reply.id;
        this.self = reply.self;
      } else {
        this.error = reply.error;
      }
    });
  }

  private applySnapshot(snapshot: BoardSnapshot): void {
    this.rowsById.clear();
    for (const row of snapshot.rows) this.rowsById.set(row.id, row);
    this.crawlsById.clear();
    for (const crawl of snapshot.crawls) this.crawlsById.set(crawl.id, crawl);
    this.totals = snapshot.totals;
    this.maxRows = snapshot.maxRows;
    this.seq = snapshot.seq;
    this.publish();
  }

  private applyDelta(delta: BoardDelta): void {
    if (delta.seq <= this.seq) return;
    if (delta.seq !== this.seq + 1) {
      // Missed one: start again from a snapshot rather than show a wrong board.
      this.socket.timeout(10_000).emit('board:resync', {}, () => undefined);
      return;
    }
    this.seq = delta.seq;
    for (const row of delta.rows ?? []) this.rowsById.set(row.id, row);
    for (const id of delta.removed ?? []) this.rowsById.delete(id);
    for (const crawl of delta.crawls ?? []) this.crawlsById.set(crawl.id, crawl);
    for (const id of delta.crawlsRemoved ?? []) this.crawlsById.delete(id);
    if (delta.totals) this.totals = delta.totals;
    this.publish();
  }

  private publish(): void {
    this.rows = [...this.rowsById.values()].sort(compareContributors);
    // Crawls that may still need work first, newest first within each group.
    const ended = (c: BoardCrawl) => Number(c.status === 'finished' || c.status === 'cancelled' || c.status === 'failed');
    this.crawls = [...this.crawlsById.values()].sort((a, b) => ended(a) - ended(b) || b.createdAt - a.createdAt);
    const own = this.selfId ? this.rowsById.get(this.selfId) : undefined;
    if (own) this.self = own;
  }
}
