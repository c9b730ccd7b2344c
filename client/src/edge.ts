// The edge worker page (edge.html), what `crowdcrawl workers` opens in each
// headless tab: the worker loop and nothing else. No Svelte, no live board, no
// activity list: a headless tab's CPU goes to fetching, parsing and extracting.
// It reads the same URL parameters as the contributor page's headless mode
// (lib/mode.ts) and puts the same `window.crowdcrawl` on the page for the tabs'
// driver (server/worker/edge-tabs.ts). One line of text, updated once a second,
// says what it is doing, for someone who opens it by hand.
import { PROTOCOL_VERSION, type Hello } from '../../shared/protocol.ts';
import { WorkerLoop, type WorkerSocket } from '../../shared/worker/loop.ts';
import type { CrowdcrawlPageApi, VolunteerStatus } from '../../shared/page-api.ts';
import { connectToHub } from '../shared/hub-socket.ts';
import { closeWhenOffline } from './lib/offline.ts';
import { pageMode } from './lib/mode.ts';

declare global {
  interface Window {
    crowdcrawl?: CrowdcrawlPageApi;
  }
}

const STATUS_EVERY_MS = 1000;

const found = pageMode(location.search.includes('worker=') ? location.search : `?worker=headless&${location.search.slice(1)}`, location.hash);
const mode = found.kind === 'headless' ? found : undefined;
const line = document.getElementById('edge')!;
const extractor = import('../extract/dom-parser.ts');

if (mode) {
  const hello: Hello = {
    protocolVersion: PROTOCOL_VERSION,
    kind: 'headless',
    name: mode.name,
    clientId: mode.clientId,
    capacity: mode.concurrency,
    ...(mode.token ? { token: mode.token } : {}),
    // The hub pushes each lease's page over the socket: no relay request per page (issue 11).
    pagePush: true,
  };
  const socket: WorkerSocket = connectToHub(location.origin, { autoConnect: false, auth: { ...hello } });
  closeWhenOffline(socket);
  const loop = new WorkerLoop({
    socket,
    hubUrl: location.origin,
    concurrency: mode.concurrency,
    minDelayMs: mode.minDelayMs,
    extract: async (html, spec, pageUrl, depth) => (await extractor).extractHtml(html, spec, pageUrl, { depth }),
  });
  const status = (): VolunteerStatus => ({
    state: loop.state,
    name: loop.welcome?.name ?? mode.name,
    pages: loop.stats.pages,
    items: loop.stats.items,
    failures: loop.stats.failures,
    bytes: loop.stats.bytes,
    inFlight: loop.activity.length,
    paused: loop.isPaused,
    lastError: loop.lastError ?? null,
  });
  window.crowdcrawl = { status, stop: () => loop.stop(), boardSelf: () => null };
  const show = () => {
    const s = status();
    line.textContent = `${s.name}: ${s.state}, ${s.pages} pages, ${s.items} items, ${s.failures} failures${s.lastError ? ` (${s.lastError.code})` : ''}`;
  };
  setInterval(show, STATUS_EVERY_MS);
  if (mode.autostart) loop.start();
  show();
} else {
  line.textContent = 'this page is opened by "crowdcrawl workers"';
}
