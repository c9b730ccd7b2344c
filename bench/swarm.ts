// The crowd half of the hub bench (issue 11): `count` lightweight socket
// workers (bench/swarm-process.ts, in two processes) crawl the docs site on a
// hub, beside the same crawl by one Node worker on that hub. Measured:
// - connected: sockets the hub welcomed;
// - the board's latency: a /board subscriber records when the crawl's
//   pagesDone reaches each count, and the swarm prints when it sent each
//   result the hub acknowledged; the k-th result sent to the board first
//   showing k pages is one page's time from its result to the board (the
//   result's trip to the hub and its commit included);
// - the board's gaps between updates;
// - the hub's CPU per page (/proc, all threads) and RSS, with everyone connected.
import type { ChildProcess } from 'node:child_process';
import { join } from 'node:path';
import { io } from 'socket.io-client';
import { BOARD_NAMESPACE, PROTOCOL_VERSION } from '../shared/protocol.ts';
import type { BoardCrawl, BoardDelta, BoardSnapshot } from '../shared/board-protocol.ts';
import { api, crawlRate, median, peakRssMb, processCpuSeconds, root, rssMb, spawnNodeWorkers, spawnUntil, stop, waitForWorkers } from './lib.ts';

export interface SwarmFigure {
  connected: number;
  /** The hub's CPU with everyone connected and no crawl running, ms per second. */
  idleCpuMsPerSecond: number;
  /** A result sent to the board showing it, per page: median, 95th percentile, longest. */
  boardLatencyMedianMs: number;
  boardLatencyP95Ms: number;
  boardLatencyMaxMs: number;
  boardGapMaxMs: number;
  rate: number;
  cpuMs: number;
  referenceRate: number;
  referenceCpuMs: number;
  /** With every socket connected, at the end of the crawl; and the peak over the whole run. */
  hubRssMb: number;
  hubPeakRssMb: number;
}

export interface SwarmHub {
  url: string;
  child: ChildProcess;
  close(): Promise<void>;
}

export interface SwarmSetup {
  pages: number;
  inFlight: number;
  startHub(options: Record<string, unknown>): Promise<SwarmHub>;
  /** Creates a crawl and resolves with its detail once it ended (all pages done). */
  crawl(hubUrl: string, name: string, onCreated?: (id: string) => void): Promise<Record<string, unknown>>;
}

/** Spreads `count` sockets over two processes; each gets its own index range (hence its own addresses and clientIds). */
export function swarmRanges(count: number): { first: number; n: number }[] {
  const a = Math.ceil(count / 2);
  return [{ first: 0, n: a }, { first: a, n: count - a }].filter((r) => r.n > 0);
}

/** How long the hub's idle CPU is read, with the crowd connected. */
const IDLE_MS = 10_000;

const percentile = (sorted: number[], p: number) => sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? Number.NaN;

/** Per page: the time the board first showed ≥ k pages minus the time the k-th (acknowledged) result was sent. */
export function boardLatencies(acks: number[], shown: { at: number; pagesDone: number }[]): number[] {
  const sorted = [...acks].sort((a, b) => a - b);
  const out: number[] = [];
  let i = 0;
  for (let k = 1; k <= sorted.length; k++) {
    while (i < shown.length && shown[i]!.pagesDone < k) i++;
    if (i === shown.length) break;
    out.push(shown[i]!.at - sorted[k - 1]!);
  }
  return out;
}

export async function swarmRun(setup: SwarmSetup, count: number): Promise<SwarmFigure> {
  // Leases per address as for 60 workers (one address per 60 sockets: the hub's per-address limit is 64).
  // BENCH_SWARM_HUB_OPTIONS adds hub options, e.g. '{"pingIntervalMs":25000}' to see what the heartbeats cost.
  const extra = JSON.parse(process.env.BENCH_SWARM_HUB_OPTIONS ?? '{}') as Record<string, unknown>;
  const hub = await setup.startHub({ validation: { maxLeasesPerAddress: 512 }, ...extra });
  const children: ChildProcess[] = [];
  const board = io(`${hub.url}${BOARD_NAMESPACE}`, { transports: ['websocket'], auth: { protocolVersion: PROTOCOL_VERSION } });
  const shown = new Map<string, { at: number; pagesDone: number }[]>();
  const gaps: number[] = [];
  let lastDelta = 0;
  const record = (crawls: readonly BoardCrawl[] | undefined) => {
    const now = Date.now();
    for (const c of crawls ?? []) {
      const list = shown.get(c.id) ?? [];
      if (list.at(-1)?.pagesDone !== c.pagesDone) list.push({ at: now, pagesDone: c.pagesDone });
      shown.set(c.id, list);
    }
  };
  board.on('board:snapshot', (snapshot: BoardSnapshot) => record(snapshot.crawls));
  board.on('board:delta', (delta: BoardDelta) => {
    const now = Date.now();
    if (lastDelta > 0) gaps.push(now - lastDelta);
    lastDelta = now;
    record(delta.crawls);
  });
  try {
    const token = (await api(hub.url, '/worker-tokens', { name: 'bench swarm' })).token as string;
    // The reference: one Node worker with the token, 16 in flight, on this fresh hub (warmed by its own crawl).
    const reference = spawnNodeWorkers(hub.url, 1, setup.inFlight, token);
    await waitForWorkers(hub.url, 1);
    await setup.crawl(hub.url, 'warm-up');
    let cpu = processCpuSeconds(hub.child.pid!);
    const referenceDetail = await setup.crawl(hub.url, 'reference');
    const referenceCpuMs = ((processCpuSeconds(hub.child.pid!) - cpu) * 1000) / setup.pages;
    await Promise.all(reference.map((w) => stop(w, 'SIGINT')));
    await waitForWorkers(hub.url, 0);

    const acks: number[] = [];
    const onLine = (line: string) => {
      if (line.startsWith('ACK ')) acks.push(Number(line.slice(4)));
    };
    const connected = await Promise.all(
      swarmRanges(count).map(async ({ first, n }) => {
        const { child, match } = await spawnUntil([join(root, 'bench/swarm-process.ts'), hub.url, String(n), String(first), token], /^CONNECTED (\d+)/, {}, { onLine, timeoutMs: 600_000 });
        children.push(child);
        return Number(match[1]);
      }),
    );
    await waitForWorkers(hub.url, count);
    // What the connected crowd costs with no work: heartbeats (pingIntervalMs), the board's ticks.
    cpu = processCpuSeconds(hub.child.pid!);
    await new Promise((r) => setTimeout(r, IDLE_MS));
    const idleCpuMsPerSecond = ((processCpuSeconds(hub.child.pid!) - cpu) * 1000) / (IDLE_MS / 1000);
    cpu = processCpuSeconds(hub.child.pid!);
    gaps.length = 0;
    lastDelta = 0;
    let swarmCrawl = '';
    const detail = await setup.crawl(hub.url, 'swarm', (id) => (swarmCrawl = id));
    const cpuMs = ((processCpuSeconds(hub.child.pid!) - cpu) * 1000) / setup.pages;
    const hubRss = rssMb(hub.child.pid!);
    // The board's last tick and the last acks' lines may still be on their way.
    await new Promise((r) => setTimeout(r, 1500));
    const latencies = boardLatencies(acks, shown.get(swarmCrawl) ?? []).sort((a, b) => a - b);
    if (acks.length < setup.pages) process.stderr.write(`swarm: ${acks.length} acks for ${setup.pages} pages (some acks timed out)\n`);
    return {
      connected: connected.reduce((a, b) => a + b, 0),
      idleCpuMsPerSecond,
      boardLatencyMedianMs: median(latencies),
      boardLatencyP95Ms: percentile(latencies, 0.95),
      boardLatencyMaxMs: latencies.at(-1) ?? Number.NaN,
      boardGapMaxMs: Math.max(...gaps),
      rate: crawlRate(detail),
      cpuMs,
      referenceRate: crawlRate(referenceDetail),
      referenceCpuMs,
      hubRssMb: hubRss,
      hubPeakRssMb: peakRssMb(hub.child.pid!),
    };
  } finally {
    board.close();
    await Promise.all(children.map((c) => stop(c)));
    await hub.close();
  }
}
