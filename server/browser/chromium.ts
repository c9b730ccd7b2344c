// Finds a Chromium the way a user expects: CROWDCRAWL_CHROMIUM first, then the
// browser Playwright installed, then the system's. Everything that launches a
// browser (preview --browser, edge workers, tests, benchmarks) goes through here.
import { ErrorCode } from '../../shared/errors.ts';
import { existsSync } from 'node:fs';
import { chromium, type Browser, type LaunchOptions } from 'playwright-core';

const SYSTEM_CANDIDATES = [
  '/usr/bin/chromium',
  '/usr/bin/chromium-browser',
  '/snap/bin/chromium',
  '/usr/bin/google-chrome',
  '/usr/bin/google-chrome-stable',
  '/Applications/Chromium.app/Contents/MacOS/Chromium',
  '/Applications/Google Chrome.app/Contents/MacOS/Google Chrome',
];

/** Flags for a quiet headless browser on a machine with no outside network. */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-background-networking',
  '--disable-component-update',
  '--no-first-run',
  '--disable-sync',
  '--disable-quic',
];

export class BrowserNotFoundError extends Error {
  override readonly name = 'BrowserNotFoundError';
  readonly code = ErrorCode.BROWSER_NOT_FOUND;
}

export interface FoundBrowser {
  readonly executablePath: string;
  readonly source: 'CROWDCRAWL_CHROMIUM' | 'playwright' | 'system';
}

export const HOW_TO_INSTALL_CHROMIUM = [
  'No Chromium found. Do one of these:',
  '  - Debian/Ubuntu:  sudo apt-get install -y chromium',
  '  - any system:     npx playwright-core install chromium',
  '  - or point crowdcrawl at a Chromium or Chrome binary:  export CROWDCRAWL_CHROMIUM=/path/to/chromium',
].join('\n');

/** Returns the browser to use, or null when none is installed. */
export function findChromium(env: NodeJS.ProcessEnv = process.env): FoundBrowser | null {
  const fromEnv = env.CROWDCRAWL_CHROMIUM;
  if (fromEnv) {
    if (!existsSync(fromEnv)) {
      throw new BrowserNotFoundError(`CROWDCRAWL_CHROMIUM is set to "${fromEnv}", but there is no file there`);
    }
    return { executablePath: fromEnv, source: 'CROWDCRAWL_CHROMIUM' };
  }
  try {
    const bundled = chromium.executablePath();
    if (bundled && existsSync(bundled)) return { executablePath: bundled, source: 'playwright' };
  } catch {
    // Playwright throws when its browser registry has no Chromium for this platform.
  }
  for (const candidate of SYSTEM_CANDIDATES) {
    if (existsSync(candidate)) return { executablePath: candidate, source: 'system' };
  }
  return null;
}

export function requireChromium(env: NodeJS.ProcessEnv = process.env): FoundBrowser {
  const found = findChromium(env);
  if (!found) throw new BrowserNotFoundError(HOW_TO_INSTALL_CHROMIUM);
  return found;
}

/** Launches headless Chromium with the project's flags. */
export async function launchChromium(options: LaunchOptions = {}): Promise<Browser> {
  const { executablePath } = requireChromium();
  return chromium.launch({
    headless: true,
    ...options,
    executablePath,
    args: [...CHROMIUM_ARGS, ...(options.args ?? [])],
  });
}
