// Webhook delivery: POSTs each queued event to its webhook, signed, with a
// dedicated undici Agent and timeouts, and records every answer (status,
// latency, error). A delivery is a stored row: a hub claims a few due ones at
// a time, for claimMs, so in a fleet exactly one hub delivers each, and if
// that hub dies its claim runs out and another takes over. A failed attempt
// (a non-2xx answer, a timeout, a refused connection) is retried with
// exponential backoff and jitter until maxAttempts. Webhook URLs are the
// operator's own, so private and loopback addresses are allowed here (unlike
// the relay, which fetches what volunteers' crawls name).
import { performance } from 'node:perf_hooks';
import { Agent, request } from 'undici';
import type { Clock, ClockTimer } from '../clock.ts';
import type { Logger } from '../log.ts';
import type { DeliveryAttempt, DeliveryRow, Storage } from '../storage/storage.ts';
import { SIGNATURE_HEADER, signatureHeader } from './signature.ts';
import { Rounds } from './rounds.ts';

export interface DelivererOptions {
  storage: Storage;
  clock: Clock;
  log: Logger;
  hubId: string;
  /** The whole attempt (connect, headers, body) must end within this. */
  timeoutMs: number;
  maxAttempts: number;
  baseDelayMs: number;
  maxDelayMs: number;
  /** How long a claim holds a delivery for this hub. */
  claimMs: number;
  /** How often the queue is looked at (retries that came due, other hubs' events). */
  pollMs: number;
  /** Deliveries attempted at once. */
  batch: number;
  random?: () => number;
}

export class Deliverer {
  private readonly o: DelivererOptions;
  private readonly agent: Agent;
  private timer: ClockTimer | undefined;
  private readonly rounds: Rounds;
  private closed = false;

  constructor(options: DelivererOptions) {
    this.o = options;
    this.rounds = new Rounds(
      () => this.drain(),
      (error) => this.o.log.error({ err: error }, 'webhooks: a delivery round failed'),
      // Retries come due later: look again after pollMs at the latest.
      () => {
        if (!this.closed) this.timer = this.o.clock.setTimeout(() => this.kick(), this.o.pollMs);
      },
    );
    this.agent = new Agent({
      connect: { timeout: options.timeoutMs },
      headersTimeout: options.timeoutMs,
      bodyTimeout: options.timeoutMs,
      connections: 16,
    });
  }

  start(): void {
    this.kick();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.o.clock.clearTimeout(this.timer);
    await this.idle();
    await this.agent.close();
  }

  /** Delivers what is due now (after an event was queued). */
  kick(): void {
    if (this.closed) return;
    if (this.rounds.kick()) this.o.clock.clearTimeout(this.timer);
  }

  /** Resolves when the current round is over (tests: tick the clock, then await this). */
  idle(): Promise<void> {
    return this.rounds.idle();
  }

  private async drain(): Promise<void> {
    const { storage, clock, hubId, claimMs, batch } = this.o;
    for (;;) {
      const now = clock.now();
      const claimed = await storage.claimDeliveries(now, hubId, now + claimMs, batch);
      if (claimed.length === 0 || this.closed) return;
      await Promise.all(claimed.map((d) => this.deliver(d)));
    }
  }

  /** The delay before attempt `attempts + 1`: base × 2^(attempts − 1), capped, with up to 20 % jitter. */
  backoffMs(attempts: number): number {
    const raw = Math.min(this.o.maxDelayMs, this.o.baseDelayMs * 2 ** Math.max(0, attempts - 1));
    return Math.round(raw * (1 + 0.2 * (this.o.random ?? Math.random)()));
  }

  private async deliver(d: DeliveryRow): Promise<void> {
    const { storage, clock } = this.o;
    const hook = await storage.getWebhook(d.webhookId);
    const attempt = async (a: Omit<DeliveryAttempt, 'state' | 'nextAttemptAt'>, ok: boolean): Promise<void> => {
      const attempts = d.attempts + 1;
      const last = !ok && (attempts >= this.o.maxAttempts || hook === undefined || !hook.enabled);
      const state = ok ? 'delivered' : last ? 'failed' : 'pending';
      const nextAttemptAt = state === 'pending' ? a.at + this.backoffMs(attempts) : a.at;
      if (!(await storage.recordDeliveryAttempt(d.id, this.o.hubId, { ...a, state, nextAttemptAt }))) {
        this.o.log.warn({ delivery: d.id }, 'webhooks: the claim on a delivery ran out before its answer was recorded');
      } else if (state === 'failed') {
        this.o.log.warn({ delivery: d.id, webhook: d.webhookId }, `webhooks: gave up on ${d.event} for crawl ${d.crawlId} after ${attempts} attempt(s): ${a.error ?? a.status}`);
      }
    };
    if (!hook || !hook.enabled) {
      await attempt({ at: clock.now(), status: null, latencyMs: 0, error: hook ? 'the webhook is disabled' : 'the webhook was deleted' }, false);
      return;
    }
    const started = performance.now();
    const at = clock.now();
    try {
      const answer = await request(hook.url, {
        method: 'POST',
        dispatcher: this.agent,
        signal: AbortSignal.timeout(this.o.timeoutMs),
        headers: {
          'content-type': 'application/json',
          'user-agent': 'crowdcrawl-webhook/1',
          'crowdcrawl-event': d.event,
          'crowdcrawl-delivery': d.id,
          [SIGNATURE_HEADER]: signatureHeader(hook.secret, d.payload, Math.floor(at / 1000)),
        },
        body: d.payload,
      });
      // The receiver's body is not kept: only that it answered, and how fast.
      await answer.body.dump({ limit: 64 * 1024 }).catch(() => undefined);
      const ok = answer.statusCode >= 200 && answer.statusCode < 300;
      const latencyMs = performance.now() - started;
      await attempt({ at, status: answer.statusCode, latencyMs, error: ok ? null : `the receiver answered ${answer.statusCode}` }, ok);
    } catch (error) {
      const e = error as Error & { code?: string };
      await attempt({ at, status: null, latencyMs: performance.now() - started, error: `${e.code ?? e.name}: ${e.message}` }, false);
    }
  }
}
