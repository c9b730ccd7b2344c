// A crowd of lightweight workers in one process, for the hub's many-sockets
// figure: `node bench/swarm-process.ts HUB_URL COUNT FIRST_INDEX [TOKEN]`.
// Each is a plain socket.io-client socket (one page in flight) that takes its
// leases, fetches each through the relay, extracts it with cheerio and answers
// with a `results` message, as the worker loop does (shared/worker/loop.ts):
// its ack carries the next leases, when the hub has some.
// Prints to stdout `CONNECTED n` once every socket is welcomed, then
// `ACK <epoch ms>` for each result the hub acknowledged (after its commit),
// stamped when the result was sent, so the bench can time the board against
// the results. Never silent: while some
// sockets are not welcomed it prints, every 5 s on stderr, how many are and
// why the others were refused (a socket refused forever used to leave the
// bench waiting with nothing printed).
import { io, type Socket } from 'socket.io-client';
import { Agent } from 'undici';
import { PROTOCOL_VERSION, RELAY_PATH, WORKER_SECRET_HEADER, type Lease, type ResultsReply, type Welcome } from '../shared/protocol.ts';
import type { Spec } from '../shared/spec/schema.ts';
import { extractHtml } from '../server/extract/cheerio.ts';

const [hubUrl, countText, firstText, token] = process.argv.slice(2);
const count = Number(countText);
const first = Number(firstText ?? 0);
/** The hub lets one address hold 64 worker connections (maxSocketsPerAddress): 60 sockets an address. */
const SOCKETS_PER_ADDRESS = 60;
const agent = new Agent({ connections: 64 });
const specs = new Map<string, Promise<Spec>>();
const welcomedSockets = new Set<number>();
const refusals = new Map<string, number>();

function start(index: number): void {
  const socket: Socket = io(hubUrl!, {
    transports: ['websocket'],
    reconnectionDelay: 1000 + (index % 1000),
    // Addresses by global index, so two swarm processes never share one (FIRST_INDEX apart).
    ...({ localAddress: `127.1.${Math.floor(index / SOCKETS_PER_ADDRESS)}.1` } as object),
    auth: { protocolVersion: PROTOCOL_VERSION, kind: 'node', name: `swarm-${index}`, clientId: `swarm-client-${String(index).padStart(8, '0')}`, capacity: 1, ...(token ? { token } : {}) },
  });
  let secret = '';
  socket.on('welcome', (welcome: Welcome) => {
    secret = welcome.workerSecret;
    welcomedSockets.add(index);
    if (welcomedSockets.size === count) console.log(`CONNECTED ${welcomedSockets.size}`);
  });
  socket.on('connect_error', (error: Error & { data?: { code?: string } }) => {
    const why = error.data?.code ?? error.message;
    refusals.set(why, (refusals.get(why) ?? 0) + 1);
  });
  socket.on('leases', (leases: Lease[]) => {
    for (const lease of leases) void work(socket, secret, lease);
  });
}

async function work(socket: Socket, secret: string, lease: Lease): Promise<void> {
  try {
    let spec = specs.get(lease.crawlId);
    if (!spec) {
      spec = socket.timeout(15_000).emitWithAck('spec:get', { crawlId: lease.crawlId }).then((reply: { spec: Spec }) => reply.spec);
      specs.set(lease.crawlId, spec);
    }
    const response = await agent.request({ origin: hubUrl!, path: `${RELAY_PATH}/${encodeURIComponent(lease.id)}`, method: 'GET', headers: { [WORKER_SECRET_HEADER]: secret } });
    const html = await response.body.text();
    if (response.statusCode !== 200) return;
    const finalUrl = decodeURI(String(response.headers['x-crowdcrawl-final-url'] ?? lease.url));
    const output = extractHtml(html, await spec, finalUrl, { depth: lease.depth });
    const sentAt = Date.now();
    const batch = (await socket.timeout(15_000).emitWithAck('results', { results: [{ leaseId: lease.id, items: output.items, links: output.links }] })) as ResultsReply;
    if (!batch.ok) return;
    const reply = batch.replies[0];
    if (reply?.ok && !reply.duplicate && !reply.pending) console.log(`ACK ${sentAt}`);
    for (const next of batch.leases ?? []) void work(socket, secret, next);
  } catch {
    // The lease expires or goes back; the figure counts pages done, not attempts.
  }
}

const progress = setInterval(() => {
  if (welcomedSockets.size === count) return;
  const why = [...refusals].map(([code, n]) => `${code} ×${n}`).join(', ') || 'none';
  process.stderr.write(`swarm ${first}..${first + count - 1}: ${welcomedSockets.size}/${count} welcomed; refusals so far: ${why}\n`);
}, 5000);
progress.unref();

// Connected 50 at a time, each group once the one before is welcomed (or after
// 10 s), as a crowd arrives: a burst of 2,000 handshakes at once on a loaded
// machine timed sockets out, and their reconnects kept the hub busy.
const GROUP = 50;
for (let i = 0; i < count; i++) {
  start(first + i);
  if (i % GROUP === GROUP - 1) {
    const deadline = Date.now() + 10_000;
    while (welcomedSockets.size < i + 1 && Date.now() < deadline) await new Promise((r) => setTimeout(r, 20));
  }
}
process.on('SIGTERM', () => process.exit(0));
