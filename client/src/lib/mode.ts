// How the page was opened. Normally it is a volunteer's tab (kind 'tab'; the
// nickname and clientId come from localStorage). `crowdcrawl workers` opens it
// as an edge worker instead:
//
//   /?worker=headless&name=NAME&clientId=ID&autostart=1&concurrency=4&minDelayMs=0#token=TOKEN
//
// which makes it a 'headless' worker that starts at once and stores nothing.
// The operator's worker token (docs/trust.md), if any, rides in the fragment:
// a browser never sends that part of a URL to the server.
import { clampConcurrency, clampMinDelay, isClientId, newClientId } from './identity.ts';

export interface HeadlessMode {
  readonly kind: 'headless';
  readonly name: string;
  readonly clientId: string;
  readonly autostart: boolean;
  readonly concurrency: number;
  readonly minDelayMs: number;
  /** An operator's worker token: this tab's results are trusted without checks. */
  readonly token: string | undefined;
}

export interface TabMode {
  readonly kind: 'tab';
}

export type PageMode = HeadlessMode | TabMode;

export function pageMode(search: string, hash = ''): PageMode {
  const params = new URLSearchParams(search);
  if (params.get('worker') !== 'headless') return { kind: 'tab' };
  const clientId = params.get('clientId');
  const concurrency = Number(params.get('concurrency') ?? 4);
  return {
    kind: 'headless',
    name: params.get('name') || 'headless',
    clientId: isClientId(clientId) ? clientId : newClientId(),
    autostart: params.get('autostart') === '1',
    // Each edge tab runs in its own browser context, so its 6 connections per host are its own.
    concurrency: Number.isFinite(concurrency) ? Math.min(16, Math.max(1, Math.round(concurrency))) : clampConcurrency(4),
    minDelayMs: clampMinDelay(Number(params.get('minDelayMs') ?? 0)),
    token: new URLSearchParams(hash.replace(/^#/, '')).get('token') || undefined,
  };
}
