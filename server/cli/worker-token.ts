// The operator's worker token for `crowdcrawl worker` and `workers` (docs/trust.md).
import { helloSchema } from '../../shared/protocol.ts';

/** --token or $CROWDCRAWL_WORKER_TOKEN, checked for shape (the hub checks that it issued it). */
export function workerToken(raw: string | undefined): { token?: string } {
  const token = raw ?? process.env.CROWDCRAWL_WORKER_TOKEN;
  if (token === undefined || token === '') return {};
  if (!helloSchema.shape.token.safeParse(token).success) throw new Error('--token: a worker token is 16 to 200 characters (copy it from the console\'s Contributors page)');
  return { token };
}
