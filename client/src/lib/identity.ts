// What the page remembers in localStorage: the nickname, a random clientId (the
// hub keeps all-time totals and bans by it; it is never shown to anyone), and
// the throttle settings. Everything read back is checked: localStorage is
// shared with whatever else ran on this origin, and may be full or disabled.
import { helloSchema } from '../../../shared/protocol.ts';
import { NAME_MAX_LENGTH, checkNickname as checkName } from '../../../shared/names.ts';

const KEYS = {
  nickname: 'crowdcrawl.nickname',
  clientId: 'crowdcrawl.clientId',
  settings: 'crowdcrawl.settings',
} as const;

export const NICKNAME_MAX_LENGTH = NAME_MAX_LENGTH;
export const CONCURRENCY_RANGE = { min: 1, max: 6 } as const;
export const MIN_DELAY_CHOICES_MS = [0, 250, 500, 1000, 2000, 5000] as const;

export interface Settings {
  /** Pages in flight at once. Browsers open at most 6 connections to one host, so more would only queue. */
  concurrency: number;
  /** Least time between the starts of two pages. */
  minDelayMs: number;
  pauseWhenHidden: boolean;
}

export const DEFAULT_SETTINGS: Settings = { concurrency: 3, minDelayMs: 0, pauseWhenHidden: false };

function read(key: string): string | null {
  try {
    return globalThis.localStorage?.getItem(key) ?? null;
  } catch {
    return null;
  }
}

function write(key: string, value: string): void {
  try {
    globalThis.localStorage?.setItem(key, value);
  } catch {
    // Private mode or a full quota: the page works, it just forgets on reload.
  }
}

/** 22 random characters of [A-Za-z0-9_-] (crypto.getRandomValues works on plain http too, unlike randomUUID). */
export function newClientId(): string {
  const bytes = crypto.getRandomValues(new Uint8Array(16));
  let binary = '';
  for (const b of bytes) binary += String.fromCharCode(b);
  return btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

export function isClientId(value: unknown): value is string {
  return helloSchema.shape.clientId.safeParse(value).success;
}

/** The nickname as the hub will take it (the same check, shared/names.ts), or the hub's refusal message for the form. */
export function checkNickname(raw: string): { ok: true; name: string } | { ok: false; message: string } {
  const checked = checkName(raw);
  return checked.ok ? { ok: true, name: checked.name } : { ok: false, message: checked.message };
}

export function loadClientId(): string {
  const stored = read(KEYS.clientId);
  if (isClientId(stored)) return stored;
  const id = newClientId();
  write(KEYS.clientId, id);
  return id;
}

export function loadNickname(): string {
  const stored = read(KEYS.nickname) ?? '';
  return stored.slice(0, NICKNAME_MAX_LENGTH);
}

export function saveNickname(name: string): void {
  write(KEYS.nickname, name);
}

export function clampConcurrency(n: unknown): number {
  const value = typeof n === 'number' && Number.isFinite(n) ? Math.round(n) : DEFAULT_SETTINGS.concurrency;
  return Math.min(CONCURRENCY_RANGE.max, Math.max(CONCURRENCY_RANGE.min, value));
}

export function clampMinDelay(ms: unknown): number {
  const value = typeof ms === 'number' && Number.isFinite(ms) ? Math.round(ms) : 0;
  return Math.min(60_000, Math.max(0, value));
}

export function loadSettings(): Settings {
  let stored: unknown;
  try {
    stored = JSON.parse(read(KEYS.settings) ?? 'null');
  } catch {
    stored = null;
  }
  const s = (stored && typeof stored === 'object' ? stored : {}) as Partial<Record<keyof Settings, unknown>>;
  return {
    concurrency: clampConcurrency(s.concurrency ?? DEFAULT_SETTINGS.concurrency),
    minDelayMs: clampMinDelay(s.minDelayMs ?? DEFAULT_SETTINGS.minDelayMs),
    pauseWhenHidden: typeof s.pauseWhenHidden === 'boolean' ? s.pauseWhenHidden : DEFAULT_SETTINGS.pauseWhenHidden,
  };
}

export function saveSettings(settings: Settings): void {
  write(KEYS.settings, JSON.stringify(settings));
}
