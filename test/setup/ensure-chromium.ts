// Makes sure the browser tests have a Chromium, without downloading one when the
// machine already has one. Root on Debian/Ubuntu: apt-get installs the system's
// `chromium`; anyone else: Playwright's own installer. If both fail, it says
// exactly what to do and exits non-zero.
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { findChromium, HOW_TO_INSTALL_CHROMIUM } from '../../server/browser/chromium.ts';

function run(command: string, args: string[]): boolean {
  console.log(`[setup] ${command} ${args.join(' ')}`);
  const result = spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } });
  return result.status === 0;
}

export function ensureChromium(): string {
  const found = findChromium();
  if (found) return found.executablePath;
  console.log('[setup] no Chromium found; installing one for the browser tests');
  const isRoot = typeof process.getuid === 'function' && process.getuid() === 0;
  if (isRoot && existsSync('/usr/bin/apt-get')) {
    if (run('apt-get', ['update', '-qq']) && run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'chromium'])) {
      const again = findChromium();
      if (again) return again.executablePath;
    }
  } else {
    const cli = new URL('../../node_modules/playwright-core/cli.js', import.meta.url).pathname;
    if (run(process.execPath, [cli, 'install', 'chromium'])) {
      const again = findChromium();
      if (again) return again.executablePath;
    }
  }
  console.error(HOW_TO_INSTALL_CHROMIUM);
  process.exit(1);
}
