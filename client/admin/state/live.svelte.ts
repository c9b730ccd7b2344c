// The /admin socket: every crawl's progress, the connected workers and the
// hub's totals, pushed by the hub about once a second; plus the details of the
// crawl on screen (rate series, errors, contributors) while one is watched.
import type { Socket } from 'socket.io-client';
import { ADMIN_NAMESPACE } from '../../../shared/protocol.ts';
import type {
  AdminClientToServerEvents,
  AdminCrawlDetail,
  AdminCrawlProgress,
  AdminServerToClientEvents,
  AdminTotals,
  AdminWorker,
} from '../../../shared/admin-protocol.ts';
import type { StorageStatus } from '../../../shared/admin-api.ts';
import { connectToHub, type HubConnectError } from '../../shared/hub-socket.ts';
import { ErrorCode } from '../../../shared/errors.ts';

type AdminSocket = Socket<AdminServerToClientEvents, AdminClientToServerEvents>;

export type LiveConnection = 'off' | 'connecting' | 'live' | 'reconnecting';

export class LiveState {
  crawls = $state.raw<AdminCrawlProgress[]>([]);
  workers = $state.raw<AdminWorker[]>([]);
  totals = $state.raw<AdminTotals | null>(null);
  /** Details of the watched crawl. */
  detail = $state.raw<AdminCrawlDetail | null>(null);
  connection = $state<LiveConnection>('off');
  /** The hub's storage as of its last update: a banner while it cannot be reached (STORAGE_UNAVAILABLE). */
  storage = $state.raw<StorageStatus | null>(null);
  updatedAt = $state(0);
  private socket: AdminSocket | null = null;
  private watching: string | null = null;
  private readonly onUnauthorized: () => void;

  constructor(onUnauthorized: () => void) {
    this.onUnauthorized = onUnauthorized;
  }

  connect(): void {
    if (this.socket) return;
    this.connection = 'connecting';
    const socket: AdminSocket = connectToHub(ADMIN_NAMESPACE, { withCredentials: true });
    this.socket = socket;
    socket.on('connect', () => {
      this.connection = 'live';
      if (this.watching) this.sendWatch(this.watching);
    });
    socket.on('disconnect', (reason) => {
      // The hub closes a socket whose session ended: that is a sign-out, not a network blip.
      if (reason === 'io server disconnect') {
        this.disconnect();
        this.onUnauthorized();
        return;
      }
      this.connection = 'reconnecting';
    });
    socket.on('connect_error', (error: HubConnectError) => {
      if (error.data?.code === ErrorCode.UNAUTHORIZED) {
        this.disconnect();
        this.onUnauthorized();
        return;
      }
      this.connection = this.updatedAt === 0 ? 'connecting' : 'reconnecting';
    });
    socket.on('admin:update', (update) => {
      this.crawls = update.crawls;
      this.workers = update.workers;
      this.totals = update.totals;
      this.storage = update.storage;
      this.updatedAt = update.at;
    });
    socket.on('admin:crawl', (detail) => {
      if (detail.crawlId === this.watching) this.detail = detail;
    });
  }

  /** Since when the hub cannot reach its database, or null. */
  get storageDownSince(): number | null {
    return this.storage?.available === false ? this.storage.unavailableSince : null;
  }

  disconnect(): void {
    this.socket?.disconnect();
    this.socket = null;
    this.connection = 'off';
  }

  crawl(id: string): AdminCrawlProgress | undefined {
    return this.crawls.find((c) => c.id === id);
  }

  /** Follows one crawl's details (null: none). */
  watch(crawlId: string | null): void {
    if (crawlId === this.watching) return;
    this.watching = crawlId;
    this.detail = null;
    if (this.socket?.connected) this.sendWatch(crawlId);
  }

  private sendWatch(crawlId: string | null): void {
    this.socket?.timeout(10_000).emit('admin:watch', { crawlId }, () => undefined);
  }
}
