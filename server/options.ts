// The hub's options, checked by one schema that also supplies the defaults.
import { z } from 'zod';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { hubLogger, isLogger, type LineLog, type Logger } from './log.ts';
import { RESULT_LIMITS } from '../shared/protocol.ts';

/** The transport edge's defaults (docs/volunteers.md, "Limits at the door"). */
const TRANSPORT_DEFAULTS = {
  maxMessageBytes: RESULT_LIMITS.maxMessageBytes,
  maxUploadBytes: RESULT_LIMITS.maxUploadBytes,
  maxUploadsPerWorker: 2,
  maxSocketsPerAddress: 64,
  rateLimit: { windowMs: 1000, eventsPerSocket: 1000, eventsPerAddress: 5000, refusalsBeforeDisconnect: 100 },
};

export const hubOptionsSchema = z.strictObject({
  /** 0 picks a free port (tests). */
  port: z.number().int().min(0).max(65535).default(8470),
  host: z.string().min(1).default('127.0.0.1'),
  dataDir: z.string().min(1).default(join(homedir(), '.crowdcrawl')),
  /**
   * PostgreSQL instead of the embedded SQLite in dataDir (docs/scale-out.md):
   * postgres://user:password@host:port/database. The admin token stays in dataDir.
   */
  databaseUrl: z
    .string()
    .regex(/^postgres(ql)?:\/\/\S+$/, 'a database URL looks like postgres://user:password@host:5432/database')
    .optional(),
  /** Admin token; when absent, read from the data dir or generated there on first start. */
  adminToken: z.string().min(16, 'an admin token has at least 16 characters').optional(),
  /** Hosts the relay may fetch even though they are private or loopback (local sites, tests). */
  allowHosts: z.array(z.string().min(1)).default([]),
  leaseTtlMs: z.number().int().min(1000).max(3_600_000).default(60_000),
  /** How often expired leases are looked for. */
  leaseSweepMs: z.number().int().min(50).max(60_000).default(1000),
  /** The fleet (docs/scale-out.md): how often this hub renews its row in storage and gives dead hubs' rows back to the queue. */
  hubHeartbeatMs: z.number().int().min(50).max(600_000).default(5000),
  /** A hub whose heartbeat is older than this is dead: its claimed rows (its leases) go back to the queue. */
  hubDeadAfterMs: z.number().int().min(200).max(3_600_000).default(20_000),
  /** On a shared database (PostgreSQL): how often this hub reads the crawls' rows to follow what other hubs changed (server/crawl/sync.ts). */
  fleetSyncMs: z.number().int().min(20).max(60_000).default(1000),
  /** The address other hubs and the operator see (behind a load balancer: this hub's own URL); the URL it listens on by default. */
  publicUrl: z.url().optional(),
  retry: z
    .strictObject({
      maxAttempts: z.number().int().min(1).max(20).default(3),
      baseDelayMs: z.number().int().min(0).max(600_000).default(1000),
      maxDelayMs: z.number().int().min(0).max(3_600_000).default(60_000),
    })
    .default({ maxAttempts: 3, baseDelayMs: 1000, maxDelayMs: 60_000 }),
  /** robots.txt, fetched once per origin and shared by every crawl (server/politeness/robots.ts). */
  robots: z
    .strictObject({
      /** How long a fetched robots.txt (or a 4xx, meaning "no rules") is used before it is fetched again. */
      cacheTtlMs: z.number().int().min(1000).max(30 * 24 * 3_600_000).default(24 * 3_600_000),
      /** After a 5xx, 429 or timeout the origin is held this long, then robots.txt is fetched again (doubling each time). */
      errorRetryMs: z.number().int().min(10).max(24 * 3_600_000).default(60_000),
      errorRetryMaxMs: z.number().int().min(10).max(24 * 3_600_000).default(30 * 60_000),
      /** Fetches of an unreachable robots.txt before its origin's URLs are skipped (ROBOTS_UNREACHABLE). */
      maxAttempts: z.number().int().min(1).max(100).default(6),
      /** Crawl-delay is honoured up to this. */
      maxCrawlDelayMs: z.number().int().min(0).max(3_600_000).default(60_000),
      /** Origins remembered at once (least recently used go first). */
      maxOrigins: z.number().int().min(1).max(10_000_000).default(100_000),
      /** Allow/Disallow rules longer than this are dropped (a hostile file's rules cost the hub per URL). */
      maxRuleLength: z.number().int().min(16).max(16_664).default(2048),
    })
    .default({
      cacheTtlMs: 24 * 3_600_000,
      errorRetryMs: 60_000,
      errorRetryMaxMs: 30 * 60_000,
      maxAttempts: 6,
      maxCrawlDelayMs: 60_000,
      maxOrigins: 100_000,
      maxRuleLength: 2048,
    }),
  relay: z
    .strictObject({
      maxBodyBytes: z.number().int().min(1024).max(1024 ** 3).default(10 * 1024 * 1024),
      /** A Content-Encoding layer growing its input more than this many times is a bomb (RELAY_DECODED_TOO_LARGE). */
      maxCompressionRatio: z.number().min(1).max(1_000_000).default(100),
      timeoutMs: z.number().int().min(100).max(600_000).default(30_000),
      maxRedirects: z.number().int().min(0).max(20).default(5),
      /** Relay requests one worker may have open at once (each lease's page is fetched once, whatever it asks). */
      maxConcurrentPerWorker: z.number().int().min(1).max(10_000).default(64),
      /**
       * Fetch a lease's page as soon as the lease is granted (up to maxConcurrentPerWorker
       * per worker), so the worker's relay request finds it ready or in flight.
       */
      prefetch: z.boolean().default(true),
      // --- Page push (issue 11, server/engine/page-push.ts) ---
      /**
       * Push each prefetched page to a worker that says it takes pushes (its hello's pagePush), over its
       * socket, instead of it asking GET /relay/:leaseId; needs prefetch. A page larger than transport.maxMessageBytes goes through the relay.
       */
      pushBodies: z.boolean().default(true),
      /** Bytes pushed to one worker for leases it has not answered yet; past it, its pages go through the relay (backpressure). */
      maxPushedBytesPerWorker: z.number().int().min(0).max(1024 ** 3).default(8 * 1024 * 1024),
    })
    .default({ maxBodyBytes: 10 * 1024 * 1024, maxCompressionRatio: 100, timeoutMs: 30_000, maxRedirects: 5, maxConcurrentPerWorker: 64, prefetch: true, pushBodies: true, maxPushedBytesPerWorker: 8 * 1024 * 1024 }),
  /** Validation and trust: who is checked, how often, and what a cheater costs (docs/trust.md). */
  validation: z
    .strictObject({
      /** Consecutive valid results a contributor needs before any of its results is trusted unchecked. */
      probationResults: z.number().int().min(0).max(100_000).default(10),
      /** Past probation a result is checked with probability max(minCheckRate, 1 / consecutive valid results). */
      minCheckRate: z.number().min(0.0001).max(1).default(0.02),
      /** Wrong results (on a browser or an address) that ban it. */
      strikesToBan: z.number().int().min(1).max(1000).default(2),
      /** How long a check waits for another contributor's opinion before the hub extracts the page itself. */
      replicaWaitMs: z.number().int().min(0).max(600_000).default(5000),
      /** A check still undecided after this gives its page back to the frontier (no strike). */
      checkTimeoutMs: z.number().int().min(1000).max(24 * 3_600_000).default(10 * 60_000),
      /** Bodies held for open checks; past this, new checks are decided by the hub at once. */
      maxPendingBytes: z.number().int().min(0).max(64 * 1024 ** 3).default(256 * 1024 * 1024),
      /** How long bodies of results accepted on trust are kept to re-check them if their contributor is caught. */
      bodyRetentionMs: z.number().int().min(0).max(365 * 24 * 3_600_000).default(7 * 24 * 3_600_000),
      /** Leases all the workers of one address may hold at once. */
      maxLeasesPerAddress: z.number().int().min(1).max(1_000_000).default(512),
    })
    .default({
      probationResults: 10,
      minCheckRate: 0.02,
      strikesToBan: 2,
      replicaWaitMs: 5000,
      checkTimeoutMs: 10 * 60_000,
      maxPendingBytes: 256 * 1024 * 1024,
      bodyRetentionMs: 7 * 24 * 3_600_000,
      maxLeasesPerAddress: 512,
    }),
  /**
   * Wrong admin tokens per client address, counted together over the console's
   * sign-in form, Bearer tokens on /api and the /admin socket: past maxFailures
   * within windowMs, that address gets SIGN_IN_RATE_LIMITED (429) until the window ends.
   */
  adminAuth: z
    .strictObject({
      maxFailures: z.number().int().min(1).max(1_000_000).default(10),
      windowMs: z.number().int().min(1000).max(24 * 3_600_000).default(60_000),
    })
    .default({ maxFailures: 10, windowMs: 60_000 }),
  /** Limits at the transport edge: message and upload sizes, event rates, connections per address. */
  transport: z
    .strictObject({
      /** The largest socket.io message read (every namespace); larger ones close the connection unread. */
      maxMessageBytes: z.number().int().min(64 * 1024).max(RESULT_LIMITS.maxUploadBytes).default(TRANSPORT_DEFAULTS.maxMessageBytes),
      /** The largest result upload (POST /results/:leaseId), counted as it streams in. */
      maxUploadBytes: z.number().int().min(64 * 1024).max(1024 ** 3).default(TRANSPORT_DEFAULTS.maxUploadBytes),
      /** Result uploads one worker may have open at once. */
      maxUploadsPerWorker: z.number().int().min(1).max(1000).default(TRANSPORT_DEFAULTS.maxUploadsPerWorker),
      /** Worker connections one address may hold at once (behind a proxy every worker has the proxy's address). */
      maxSocketsPerAddress: z.number().int().min(1).max(1_000_000).default(TRANSPORT_DEFAULTS.maxSocketsPerAddress),
      /** Worker events (and uploads) per window: each socket has a budget, and all sockets of one address share one too. */
      rateLimit: z
        .strictObject({
          windowMs: z.number().int().min(1000).max(3_600_000).default(TRANSPORT_DEFAULTS.rateLimit.windowMs),
          eventsPerSocket: z.number().int().min(1).max(10_000_000).default(TRANSPORT_DEFAULTS.rateLimit.eventsPerSocket),
          eventsPerAddress: z.number().int().min(1).max(10_000_000).default(TRANSPORT_DEFAULTS.rateLimit.eventsPerAddress),
          /** Refused events in one window after which the socket is disconnected. */
          refusalsBeforeDisconnect: z.number().int().min(0).max(10_000_000).default(TRANSPORT_DEFAULTS.rateLimit.refusalsBeforeDisconnect),
        })
        .default(TRANSPORT_DEFAULTS.rateLimit),
    })
    .default(TRANSPORT_DEFAULTS),
  /**
   * Origins (besides the hub's own) whose pages may connect browser workers: a
   * connection that sends an Origin header must come from one of them. Workers
   * that send none (Node, edge) are not affected.
   */
  allowedOrigins: z
    .array(
      z
        .string()
        .refine((u) => /^https?:\/\/[^/]/i.test(u) && URL.canParse(u), 'an origin is http(s)://host[:port]')
        .transform((u) => new URL(u).origin),
    )
    .default([]),
  /** Schedules and webhooks (server/ops/, docs/operate.md). */
  ops: z
    .strictObject({
      /** This hub's name among hubs sharing one database (recorded on the runs and deliveries it claims). */
      hubId: z.string().min(1).max(200).optional(),
      /** The address receivers reach the hub at, for the export links in webhook payloads (default: the hub's own URL). */
      publicUrl: z.url({ protocol: /^https?$/ }).optional(),
      /** The longest the scheduler sleeps before it reads the schedules again (another hub may have changed them). */
      schedulerPollMs: z.number().int().min(100).max(3_600_000).default(60_000),
      webhooks: z
        .strictObject({
          /** One delivery attempt (connect, headers and body) ends within this. */
          timeoutMs: z.number().int().min(100).max(120_000).default(10_000),
          /** Attempts before a delivery is given up (failed). */
          maxAttempts: z.number().int().min(1).max(50).default(8),
          /** The wait after the first failed attempt; doubled after each further one, up to maxDelayMs. */
          baseDelayMs: z.number().int().min(0).max(3_600_000).default(10_000),
          maxDelayMs: z.number().int().min(0).max(24 * 3_600_000).default(3_600_000),
          /** How long a hub holds a delivery it claimed; after that another hub may attempt it. */
          claimMs: z.number().int().min(1000).max(3_600_000).default(60_000),
          /** How often the delivery queue is looked at. */
          pollMs: z.number().int().min(100).max(3_600_000).default(5000),
          /** Deliveries attempted at once by this hub. */
          batch: z.number().int().min(1).max(1000).default(8),
        })
        .default({ timeoutMs: 10_000, maxAttempts: 8, baseDelayMs: 10_000, maxDelayMs: 3_600_000, claimMs: 60_000, pollMs: 5000, batch: 8 }),
    })
    .default({
      schedulerPollMs: 60_000,
      webhooks: { timeoutMs: 10_000, maxAttempts: 8, baseDelayMs: 10_000, maxDelayMs: 3_600_000, claimMs: 60_000, pollMs: 5000, batch: 8 },
    }),
  /**
   * Heartbeats (server/transport/liveness.ts): socket.io pings every socket
   * every pingIntervalMs; a worker holding leases the hub has heard nothing
   * from for silentWorkerProbeMs is pinged at once. No answer within
   * pingTimeoutMs: disconnected, its leases go back. So a silent worker
   * holding leases is noticed within silentWorkerProbeMs + pingTimeoutMs (and
   * up to a second), an idle one within pingIntervalMs + pingTimeoutMs.
   */
  pingIntervalMs: z.number().int().min(100).max(120_000).default(25_000),
  pingTimeoutMs: z.number().int().min(100).max(120_000).default(10_000),
  silentWorkerProbeMs: z.number().int().min(100).max(120_000).default(5000),
  /** Serve the built contributor page and admin console from this folder (default: client/dist). */
  staticDir: z.string().optional(),
  /** The live board: time between broadcasts and rows broadcast (server/hub/board.ts). */
  board: z
    .strictObject({
      intervalMs: z.number().int().min(100).max(60_000).default(1000),
      /** A page's crawl progress is broadcast within this long, at most once per this long (crawls and totals only); 0: with the rounds only. */
      promptMs: z.number().int().min(0).max(60_000).default(250),
      maxRows: z.number().int().min(1).max(10_000).default(100),
      /** Live views across hubs (docs/scale-out.md): another hub not heard of for this long is dropped from the board and the console's feed. */
      staleHubAfterMs: z.number().int().min(1000).max(600_000).default(10_000),
    })
    .default({ intervalMs: 1000, promptMs: 250, maxRows: 100, staleHubAfterMs: 10_000 }),
  /**
   * Where the hub logs (server/log.ts): a Logger such as createLogger()'s, or
   * silentLogger in tests. A `(line) => void` function is still accepted for
   * one release and wrapped; either way the hub gets a HubLogger.
   */
  log: z
    .custom<Logger | LineLog>((v) => typeof v === 'function' || isLogger(v), 'a Logger or a (line) => void function')
    .transform(hubLogger)
    .optional(),
}).refine((o) => o.hubDeadAfterMs >= 2 * o.hubHeartbeatMs, {
  message: 'hubDeadAfterMs must be at least twice hubHeartbeatMs (a hub is taken for dead only after it missed a heartbeat)',
  path: ['hubDeadAfterMs'],
});

export type HubOptions = z.input<typeof hubOptionsSchema>;
export type ResolvedHubOptions = z.output<typeof hubOptionsSchema>;
