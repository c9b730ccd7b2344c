// How a worker's results reach the hub (part of the worker loop, loop.ts):
// in batches over the socket (those finished while the previous batch waits
// for its ack go together, Nagle-style, so a busy worker sends fewer, larger
// messages and an idle one sends at once; the ack of a batch carries the leases
// its commits made room for), or one by one through the hub's result upload
// when a result does not fit in one socket message.
import type { Socket } from 'socket.io-client';
import {
  ACK_TIMEOUT_MS,
  MAX_RESULTS_PER_BATCH,
  RESULT_LIMITS,
  RESULT_UPLOAD_PATH,
  WORKER_SECRET_HEADER,
  type Lease,
  type ResultPayload,
  type ResultReply,
  type ResultsReply,
  type Welcome,
  type ClientToServerEvents,
  type ServerToClientEvents,
} from '../protocol.ts';
import { ErrorCode } from '../errors.ts';
import { setTimer, utf8Length, type AbortSignalLike, type FetchLike } from '../platform.ts';

/** A result the hub could not store (STORAGE_FAILED: its database is away) is sent again after 1 s, 2 s, 4 s… up to this. */
export const RESEND_MAX_DELAY_MS = 10_000;
const RESEND_FIRST_DELAY_MS = 1000;

/** Room left in a socket message for socket.io's own framing (event name, ack id). */
const MESSAGE_FRAMING_BYTES = 1024;

/** Room in a batch message for its wrapper ({"results":[...]}) and commas. */
const BATCH_OVERHEAD_BYTES = 64;

/** A result waiting to go in the next batch. */
interface Outgoing {
  readonly payload: ResultPayload;
  readonly bytes: number;
  readonly resolve: (reply: ResultReply) => void;
  readonly reject: (error: unknown) => void;
}

export class ResultSender {
  private readonly socket: Socket<ServerToClientEvents, ClientToServerEvents>;
  private readonly hubUrl: string;
  private readonly fetchImpl: FetchLike;
  private readonly welcome: () => Welcome | undefined;
  private readonly onLeases: (leases: Lease[]) => void;
  /** Result uploads go one at a time (the hub caps them per worker). */
  private uploads: Promise<unknown> = Promise.resolve();
  /** Results waiting for the batch in flight to be acknowledged. */
  private outbox: Outgoing[] = [];
  /** The connection a batch is in flight on (undefined: none), so a reconnect does not wait for a lost ack. */
  private batchInFlight: number | undefined;
  private connection = 0;

  constructor(socket: Socket<ServerToClientEvents, ClientToServerEvents>, hubUrl: string, fetchImpl: FetchLike, welcome: () => Welcome | undefined, onLeases: (leases: Lease[]) => void) {
    this.socket = socket;
    this.hubUrl = hubUrl;
    this.fetchImpl = fetchImpl;
    this.welcome = welcome;
    this.onLeases = onLeases;
  }

  /** The connection dropped: results not sent yet are void (the hub gave their leases back). */
  disconnected(): void {
    this.connection++;
    this.batchInFlight = undefined;
    for (const out of this.outbox.splice(0)) out.reject(new Error('disconnected before the result was sent'));
  }

  /**
   * Sends a result until the hub has stored it: a STORAGE_FAILED answer (the
   * hub's database is away; the hub keeps the lease and grants no other) means
   * "send it again", with backoff, while `live()` (the lease is still ours and
   * the connection up). Any other answer is final. A result is acknowledged
   * only after its commit, so one never acknowledged is never lost: it is either
   * stored on a later try or its lease ends and the page is fetched again.
   */
  async sendUntilStored(payload: ResultPayload, signal: AbortSignalLike, live: () => boolean): Promise<ResultReply> {
    let reply = await this.send(payload, signal);
    for (let delay = RESEND_FIRST_DELAY_MS; !reply.ok && reply.error.code === ErrorCode.STORAGE_FAILED && live(); delay = Math.min(RESEND_MAX_DELAY_MS, delay * 2)) {
      await new Promise<void>((resolve) => setTimer(resolve, delay));
      if (!live()) break;
      reply = await this.send(payload, signal);
    }
    return reply;
  }

  /**
   * Sends a result by socket when it fits in one message (the hub closes the
   * connection on a larger one), else through the hub's result upload.
   */
  async send(payload: ResultPayload, signal: AbortSignalLike): Promise<ResultReply> {
    const limit = (this.welcome()?.maxMessageBytes ?? RESULT_LIMITS.maxMessageBytes) - MESSAGE_FRAMING_BYTES;
    const json = JSON.stringify(payload);
    // A UTF-8 byte per UTF-16 unit at least, three at most: count exactly only in between.
    const fits = json.length <= limit && (json.length * 3 <= limit || utf8Length(json) <= limit);
    if (fits) return new Promise<ResultReply>((resolve, reject) => {
      this.outbox.push({ payload, bytes: json.length * 3 <= limit ? json.length * 3 : utf8Length(json), resolve, reject });
      this.flush();
    });
    const upload = async (): Promise<ResultReply> => {
      const response = await this.fetchImpl(`${this.hubUrl}${RESULT_UPLOAD_PATH}/${encodeURIComponent(payload.leaseId)}`, {
        method: 'POST',
        headers: { [WORKER_SECRET_HEADER]: this.welcome()?.workerSecret ?? '', 'content-type': 'application/json' },
        body: json,
        signal,
        cache: 'no-store',
      });
      const text = await response.text();
      try {
        return JSON.parse(text) as ResultReply;
      } catch {
        return { ok: false, error: { code: ErrorCode.WORKER_ERROR, message: `the result upload answered ${response.status} without a reply` } };
      }
    };
    const sent = this.uploads.then(upload, upload);
    this.uploads = sent.catch(() => undefined);
    return sent;
  }

  /**
   * Sends the waiting results as one batch, unless a batch is in flight: then
   * they wait for its ack and go together. A batch stays within the hub's
   * message size (its results' bytes are counted as sendResult measured them).
   */
  private flush(): void {
    if (this.batchInFlight !== undefined || this.outbox.length === 0 || !this.socket.connected) return;
    const limit = (this.welcome()?.maxMessageBytes ?? RESULT_LIMITS.maxMessageBytes) - MESSAGE_FRAMING_BYTES - BATCH_OVERHEAD_BYTES;
    const batch: Outgoing[] = [];
    let bytes = 0;
    while (this.outbox.length > 0 && batch.length < MAX_RESULTS_PER_BATCH) {
      const next = this.outbox[0]!;
      if (batch.length > 0 && bytes + next.bytes + 1 > limit) break;
      batch.push(this.outbox.shift()!);
      bytes += next.bytes + 1;
    }
    const connection = this.connection;
    this.batchInFlight = connection;
    this.socket
      .timeout(ACK_TIMEOUT_MS)
      .emitWithAck('results', { results: batch.map((out) => out.payload) })
      .then(
        (reply: ResultsReply) => {
          if (!reply.ok) {
            for (const out of batch) out.resolve(reply);
            return;
          }
          for (const [i, out] of batch.entries()) {
            out.resolve(reply.replies[i] ?? { ok: false, error: { code: ErrorCode.WORKER_ERROR, message: 'the hub sent no reply for this result' } });
          }
          if (reply.leases && reply.leases.length > 0 && connection === this.connection) this.onLeases(reply.leases);
        },
        (error: unknown) => {
          for (const out of batch) out.reject(error);
        },
      )
      .finally(() => {
        if (this.batchInFlight !== connection) return;
        this.batchInFlight = undefined;
        this.flush();
      });
  }
}
