// A fresh PostgreSQL database for a test (or a bench): `CREATE DATABASE t_<random>`
// on the cluster test/run.ts started (CROWDCRAWL_TEST_DATABASE_URL), so test
// files running side by side never see each other's rows. A file run on its own
// (`node --test file`, a bench) starts a cluster of its own, stopped at exit.
// Never skips: without PostgreSQL, set-up fails and says what to install.
import { randomBytes } from 'node:crypto';
import pg from 'pg';
import { startPostgresCluster, type ClusterOptions } from '../setup/postgres.ts';

let cluster: Promise<string> | undefined;

/** The cluster's maintenance URL: the test run's, or one started for this process. */
export function clusterUrl(options: ClusterOptions = {}): Promise<string> {
  const given = process.env.CROWDCRAWL_TEST_DATABASE_URL;
  if (given) return Promise.resolve(given);
  cluster ??= startPostgresCluster({ quiet: true, ...options }).then((c) => c.url);
  return cluster;
}

/** The same server, another database. */
export function withDatabase(url: string, database: string): string {
  const u = new URL(url);
  u.pathname = `/${database}`;
  return u.toString();
}

async function admin<T>(fn: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: await clusterUrl() });
  await client.connect();
  try {
    return await fn(client);
  } finally {
    await client.end();
  }
}

export interface TestDatabase {
  readonly url: string;
  readonly name: string;
  /** Drops it, closing any connection still open to it. */
  drop(): Promise<void>;
}

/** A new, empty database on the test cluster. */
export async function createTestDatabase(): Promise<TestDatabase> {
  const name = `t_${randomBytes(6).toString('hex')}`;
  await admin((c) => c.query(`CREATE DATABASE ${name}`));
  const url = withDatabase(await clusterUrl(), name);
  return {
    url,
    name,
    drop: () => admin(async (c) => {
      await c.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
    }),
  };
}
