// This tab as a worker: the shared WorkerLoop (the same as the Node worker's and
// the edge tabs') with DOMParser for extraction, plus what a volunteer controls:
// pause and resume, the throttle, and pausing while the tab is hidden.
// Components read the $state fields; the loop's own objects are copied into
// them at most every 250 ms (lib/throttle.ts), so the panel renders about four
// times a second whatever the page rate.
import { ErrorCode, PROTOCOL_VERSION, type Hello, type ProtocolError, type WorkerKind } from '../../../shared/protocol.ts';
import { WorkerLoop, type PageActivity, type WorkerSocket, type WorkerStats } from '../../../shared/worker/loop.ts';
import { clampConcurrency, clampMinDelay, saveSettings, type Settings } from '../lib/identity.ts';
import type { VolunteerState, VolunteerStatus } from '../../../shared/page-api.ts';
import { closeWhenOffline } from '../lib/offline.ts';
import { connectToHub } from '../../shared/hub-socket.ts';
import { Throttle } from '../lib/throttle.ts';

/** The panel's refresh: at most four renders a second, however many pages a second. */
export const SYNC_EVERY_MS = 250;

/** The extraction engine (with its URL and selector libraries) loads only once the tab contributes. */
let extractor: Promise<typeof import('../../extract/dom-parser.ts')> | undefined;
function loadExtractor(): Promise<typeof import('../../extract/dom-parser.ts')> {
  extractor ??= import('../../extract/dom-parser.ts').catch((error: unknown) => {
    extractor = undefined; // a network blip while loading: try again with the next page
    throw error;
  });
  return extractor;
}

export interface VolunteerOptions {
  kind: WorkerKind;
  clientId: string;
  settings: Settings;
  /** Remember throttle changes in localStorage (not for edge tabs). */
  persist: boolean;
  hubUrl?: string;
  /** The hub welcomed the tab under this name (it may differ from the nickname asked for: "alice (2)"). */
  onNamed?: (name: string) => void;
  /** The hub refused the nickname (NAME_INVALID): the tab has stopped. */
  onNameRefused?: (error: ProtocolError) => void;
  /** An operator's worker token (edge tabs of `crowdcrawl workers --token`). */
  token?: string;
}

function zeroStats(): WorkerStats {
  return { pages: 0, items: 0, links: 0, failures: 0, bytes: 0 };
}

export class Volunteer {
  readonly kind: WorkerKind;
  readonly clientId: string;
  state = $state<VolunteerState>('off');
  /** The name the hub shows this tab as (its welcome's), or the nickname asked for until it answers. */
  name = $state('');
  /** The nickname asked for. */
  askedName = $state('');
  /** This tab, since it started contributing. */
  stats = $state<WorkerStats>(zeroStats());
  /** Pages this tab finished in the last 60 seconds. */
  pagesPerMinute = $state(0);
  activity = $state.raw<PageActivity[]>([]);
  lastError = $state.raw<ProtocolError | null>(null);
  settings = $state<Settings>({ concurrency: 3, minDelayMs: 0, pauseWhenHidden: false });
  userPaused = $state(false);
  hiddenPaused = $state(false);

  private readonly persist: boolean;
  private readonly token: string | undefined;
  private readonly hubUrl: string;
  private readonly onNamed: ((name: string) => void) | undefined;
  private readonly onNameRefused: ((error: ProtocolError) => void) | undefined;
  private loop: WorkerLoop | undefined;
  private unwatchOffline: (() => void) | undefined;
  private readonly syncThrottle = new Throttle(() => this.sync(), SYNC_EVERY_MS);
  private rateTimer: ReturnType<typeof setInterval> | undefined;
  private completions: number[] = [];
  private lastPages = 0;

  constructor(options: VolunteerOptions) {
    this.kind = options.kind;
    this.clientId = options.clientId;
    this.settings = { ...options.settings };
    this.persist = options.persist;
    this.token = options.token;
    this.hubUrl = options.hubUrl ?? location.origin;
    this.onNamed = options.onNamed;
    this.onNameRefused = options.onNameRefused;
    document.addEventListener('visibilitychange', () => this.applyVisibility());
  }

  get contributing(): boolean {
    return this.state !== 'off';
  }

  /** Starts contributing under `name` (already checked with checkNickname). */
  start(name: string): void {
    if (this.loop) return;
    this.name = name;
    this.askedName = name;
    this.stats = zeroStats();
    this.completions = [];
    this.lastPages = 0;
    this.lastError = null;
    this.userPaused = false;
    const hello: Hello = {
      protocolVersion: PROTOCOL_VERSION,
      kind: this.kind,
      name,
      clientId: this.clientId,
      capacity: this.settings.concurrency,
      ...(this.token ? { token: this.token } : {}),
      // The hub pushes each lease's page over the socket: no relay request per page (issue 11).
      pagePush: true,
    };
    const socket: WorkerSocket = connectToHub(this.hubUrl, { autoConnect: false, auth: { ...hello } });
    const loop = new WorkerLoop({
      socket,
      hubUrl: this.hubUrl,
      concurrency: this.settings.concurrency,
      minDelayMs: this.settings.minDelayMs,
      extract: async (html, spec, pageUrl, depth) => (await loadExtractor()).extractHtml(html, spec, pageUrl, { depth }),
    });
    this.loop = loop;
    this.unwatchOffline = closeWhenOffline(socket);
    loadExtractor().catch(() => undefined);
    loop.onChange(() => this.scheduleSync());
    loop.onChange(() => this.followName(loop));
    this.rateTimer = setInterval(() => this.sync(), 1000);
    loop.start();
    this.applyVisibility();
    this.sync();
  }

  /** Hands this tab's leases back and disconnects. */
  async stop(): Promise<void> {
    const loop = this.loop;
    if (!loop) return;
    await loop.stop();
    this.loop = undefined;
    this.unwatchOffline?.();
    clearInterval(this.rateTimer);
    this.syncThrottle.cancel();
    this.sync(loop);
    this.state = 'off';
    this.activity = [];
    this.hiddenPaused = false;
  }

  pause(): void {
    this.userPaused = true;
    this.loop?.pause();
    this.sync();
  }

  resume(): void {
    this.userPaused = false;
    if (!this.hiddenPaused) this.loop?.resume();
    this.sync();
  }

  setConcurrency(n: number): void {
    this.settings.concurrency = clampConcurrency(n);
    this.loop?.setConcurrency(this.settings.concurrency);
    this.saveSettings();
  }

  setMinDelay(ms: number): void {
    this.settings.minDelayMs = clampMinDelay(ms);
    this.loop?.setMinDelay(this.settings.minDelayMs);
    this.saveSettings();
  }

  setPauseWhenHidden(on: boolean): void {
    this.settings.pauseWhenHidden = on;
    this.saveSettings();
    this.applyVisibility();
  }

  status(): VolunteerStatus {
    const loop = this.loop;
    const stats = loop?.stats ?? this.stats;
    return {
      state: loop ? loop.state : this.state,
      name: this.name,
      pages: stats.pages,
      items: stats.items,
      failures: stats.failures,
      bytes: stats.bytes,
      inFlight: loop ? loop.activity.length : 0,
      paused: loop?.isPaused ?? false,
      lastError: loop?.lastError ?? null,
    };
  }

  private saveSettings(): void {
    if (this.persist) saveSettings({ ...this.settings });
  }

  /** Pauses while the tab is hidden (when asked to), resumes when it is shown unless the volunteer paused. */
  private applyVisibility(): void {
    const loop = this.loop;
    if (!loop) return;
    const shouldHide = this.settings.pauseWhenHidden && document.visibilityState === 'hidden';
    if (shouldHide && !this.hiddenPaused) {
      this.hiddenPaused = true;
      loop.pause();
    } else if (!shouldHide && this.hiddenPaused) {
      this.hiddenPaused = false;
      if (!this.userPaused) loop.resume();
    }
    this.sync();
  }

  private scheduleSync(): void {
    this.syncThrottle.request();
  }

  /** Takes the name the hub gave; stops when it refused the nickname (reconnecting cannot change that). */
  private followName(loop: WorkerLoop): void {
    if (loop !== this.loop) return;
    const given = loop.welcome?.name;
    if (given !== undefined && given !== this.name) {
      this.name = given;
      this.onNamed?.(given);
    }
    if (loop.lastError?.code === ErrorCode.NAME_INVALID && loop.state !== 'stopped') {
      this.onNameRefused?.(loop.lastError);
      void this.stop();
    }
  }

  /** Copies the loop's state into the reactive fields. */
  private sync(loop = this.loop): void {
    if (!loop) return;
    const now = Date.now();
    for (let i = this.lastPages; i < loop.stats.pages; i++) this.completions.push(now);
    this.lastPages = loop.stats.pages;
    while (this.completions.length > 0 && now - this.completions[0]! > 60_000) this.completions.shift();
    this.pagesPerMinute = this.completions.length;
    this.state = loop.state;
    this.stats = { ...loop.stats };
    this.activity = loop.activity.map((a) => ({ ...a }));
    this.lastError = loop.lastError ?? null;
  }
}
