// A throwaway PostgreSQL cluster for the tests and benches: Debian's
// `postgresql` package's initdb into a temp dir, started with pg_ctl on a free
// port of 127.0.0.1, its socket in the same dir, stopped (and the dir removed)
// when the process that started it exits, however it exits short of SIGKILL;
// a cluster whose owner was SIGKILLed is stopped by the next start-up.
//
// PostgreSQL refuses to run as root (CI runs as root): then the cluster runs as
// the `postgres` user that Debian's package creates, through runuser. Where
// the binaries are missing, root on Debian installs the package (as
// ensure-chromium.ts does Chromium); anyone else is told exactly what to do.
import { spawnSync } from 'node:child_process';
import { chownSync, existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export const HOW_TO_INSTALL_POSTGRES = [
  'The PostgreSQL tests need the PostgreSQL server binaries (initdb, pg_ctl) and could not install them.',
  'On Debian or Ubuntu, as root:  apt-get update && apt-get install -y postgresql',
  'Elsewhere: install PostgreSQL 13 or later and put its bin directory in CROWDCRAWL_PG_BIN (e.g. /usr/lib/postgresql/16/bin).',
].join('\n');

const DIR_PREFIX = 'crowdcrawl-pg-';
const OWNER_FILE = 'owner.pid';

export interface PostgresCluster {
  /** The cluster's maintenance database as the superuser: postgres://postgres@127.0.0.1:PORT/postgres */
  readonly url: string;
  readonly dir: string;
  readonly port: number;
  /** Stops the server at once and removes its files (synchronous: safe in an exit handler). */
  stop(): void;
  /**
   * Stops the server and keeps its files (the fault tests' "database away"): `fast` ends every
   * connection and shuts down cleanly, `immediate` is a crash (recovery on the next start).
   */
  halt(mode: 'fast' | 'immediate'): void;
  /** Starts a halted server again, on the same port with the same settings. */
  resume(): void;
}

const isRoot = () => typeof process.getuid === 'function' && process.getuid() === 0;

/** The directory holding initdb and pg_ctl: CROWDCRAWL_PG_BIN, or Debian's newest /usr/lib/postgresql/N/bin. */
export function findPostgresBin(): string | undefined {
  const fromEnv = process.env.CROWDCRAWL_PG_BIN;
  if (fromEnv) return existsSync(join(fromEnv, 'pg_ctl')) ? fromEnv : undefined;
  const base = '/usr/lib/postgresql';
  if (!existsSync(base)) return undefined;
  const versions = readdirSync(base)
    .filter((v) => /^\d+$/.test(v) && existsSync(join(base, v, 'bin', 'initdb')) && existsSync(join(base, v, 'bin', 'pg_ctl')))
    .sort((a, b) => Number(b) - Number(a));
  return versions.length > 0 ? join(base, versions[0]!, 'bin') : undefined;
}

function run(command: string, args: string[]): boolean {
  console.log(`[setup] ${command} ${args.join(' ')}`);
  return spawnSync(command, args, { stdio: 'inherit', env: { ...process.env, DEBIAN_FRONTEND: 'noninteractive' } }).status === 0;
}

/** The bin directory, installing Debian's package when root; else prints what to do and throws. */
export function ensurePostgres(): string {
  const found = findPostgresBin();
  if (found) return found;
  console.log('[setup] no PostgreSQL server found; installing one for the PostgreSQL tests');
  if (isRoot() && existsSync('/usr/bin/apt-get')) {
    if (run('apt-get', ['update', '-qq']) && run('apt-get', ['install', '-y', '-qq', '--no-install-recommends', 'postgresql'])) {
      const again = findPostgresBin();
      if (again) return again;
    }
  }
  console.error(HOW_TO_INSTALL_POSTGRES);
  throw new Error('PostgreSQL is not installed (see above)');
}

/** Runs a PostgreSQL binary as the cluster's owner: ourselves, or `postgres` when we are root. */
function asOwner(bin: string, args: string[], options: { allowFail?: boolean } = {}): string {
  const [command, argv] = isRoot() ? ['runuser', ['-u', 'postgres', '--', bin, ...args]] : [bin, args];
  const result = spawnSync(command, argv, { encoding: 'utf8', cwd: '/' });
  if (result.status !== 0 && !options.allowFail) {
    throw new Error(`${bin} ${args.join(' ')} failed (${result.status ?? result.signal}):\n${result.stdout}${result.stderr}`);
  }
  return `${result.stdout ?? ''}${result.stderr ?? ''}`;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const port = (server.address() as { port: number }).port;
      server.close(() => resolve(port));
    });
  });
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Stops and removes the clusters of processes that died without stopping theirs (SIGKILL, a crash). */
function reapOrphans(bin: string): void {
  for (const name of readdirSync(tmpdir())) {
    if (!name.startsWith(DIR_PREFIX)) continue;
    const dir = join(tmpdir(), name);
    let owner: number;
    try {
      owner = Number(readFileSync(join(dir, OWNER_FILE), 'utf8'));
    } catch {
      continue; // still being set up by someone, or not ours
    }
    if (!Number.isInteger(owner) || owner <= 0 || pidAlive(owner)) continue;
    if (existsSync(join(dir, 'data', 'postmaster.pid'))) asOwner(join(bin, 'pg_ctl'), ['stop', '-D', join(dir, 'data'), '-m', 'immediate', '-w'], { allowFail: true });
    rmSync(dir, { recursive: true, force: true });
  }
}

export interface ClusterOptions {
  /**
   * Off for tests (a throwaway cluster never outlives a power cut; tests that kill
   * processes kill hubs, not the database). Benches keep it on, as an operator would.
   */
  fsync?: boolean;
  /** Extra server settings, name → value (e.g. { max_connections: '200' }). */
  settings?: Record<string, string>;
  quiet?: boolean;
}

/** Starts a new cluster; stop() it, or it is stopped when this process exits. */
export async function startPostgresCluster(options: ClusterOptions = {}): Promise<PostgresCluster> {
  const bin = ensurePostgres();
  reapOrphans(bin);
  const dir = mkdtempSync(join(tmpdir(), DIR_PREFIX));
  const data = join(dir, 'data');
  let stopped = false;
  const stop = () => {
    if (stopped) return;
    stopped = true;
    process.off('exit', stop);
    if (existsSync(join(data, 'postmaster.pid'))) asOwner(join(bin, 'pg_ctl'), ['stop', '-D', data, '-m', 'immediate', '-w'], { allowFail: true });
    rmSync(dir, { recursive: true, force: true });
  };
  process.on('exit', stop);
  try {
    if (isRoot()) {
      const uid = Number(spawnSync('id', ['-u', 'postgres'], { encoding: 'utf8' }).stdout.trim());
      const gid = Number(spawnSync('id', ['-g', 'postgres'], { encoding: 'utf8' }).stdout.trim());
      if (!Number.isInteger(uid) || uid <= 0) throw new Error('running as root, and there is no `postgres` user to run PostgreSQL as (Debian\'s postgresql package creates it)');
      chownSync(dir, uid, gid);
    }
    asOwner(join(bin, 'initdb'), ['-D', data, '-U', 'postgres', '--auth=trust', '--encoding=UTF8', '--locale=C', '--no-sync']);
    writeFileSync(join(dir, OWNER_FILE), String(process.pid));
    const settings: Record<string, string> = {
      listen_addresses: '127.0.0.1',
      unix_socket_directories: dir,
      fsync: options.fsync ? 'on' : 'off',
      full_page_writes: options.fsync ? 'on' : 'off',
      max_connections: '200',
      shared_buffers: '64MB',
      ...options.settings,
    };
    // A port taken between freePort() and the server's bind: try another.
    for (let attempt = 1; ; attempt++) {
      const port = await freePort();
      const pgOptions = [`-p ${port}`, ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`)].join(' ');
      const out = asOwner(join(bin, 'pg_ctl'), ['start', '-D', data, '-w', '-t', '60', '-l', join(dir, 'server.log'), '-o', pgOptions], { allowFail: true });
      if (existsSync(join(data, 'postmaster.pid'))) {
        const url = `postgres://postgres@127.0.0.1:${port}/postgres`;
        if (!options.quiet) console.log(`[setup] PostgreSQL: ${url} (${dir})`);
        const halt = (mode: 'fast' | 'immediate') => void asOwner(join(bin, 'pg_ctl'), ['stop', '-D', data, '-m', mode, '-w']);
        const resume = () => void asOwner(join(bin, 'pg_ctl'), ['start', '-D', data, '-w', '-t', '60', '-l', join(dir, 'server.log'), '-o', pgOptions]);
        return { url, dir, port, stop, halt, resume };
      }
      if (attempt === 3) {
        const log = existsSync(join(dir, 'server.log')) ? readFileSync(join(dir, 'server.log'), 'utf8') : '';
        throw new Error(`pg_ctl start failed:\n${out}\n${log}`);
      }
    }
  } catch (error) {
    stop();
    throw error;
  }
}
