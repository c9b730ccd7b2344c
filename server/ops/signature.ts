// Webhook signatures, like Stripe's: the header
//   crowdcrawl-signature: t=<unix seconds>,v1=<hex HMAC-SHA256 of "<t>.<body>">
// keyed with the webhook's secret. A receiver recomputes it over the raw body,
// compares in constant time and refuses a timestamp too far from its own clock
// (a replayed delivery). docs/operate.md shows the receiver's side.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const SIGNATURE_HEADER = 'crowdcrawl-signature';

export function signatureHeader(secret: string, body: string, unixSeconds: number): string {
  const mac = createHmac('sha256', secret).update(`${unixSeconds}.${body}`, 'utf8').digest('hex');
  return `t=${unixSeconds},v1=${mac}`;
}

/** Whether `header` signs `body` with `secret` at a time within `toleranceS` of `nowS` (the check a receiver makes). */
export function verifySignature(secret: string, body: string, header: string, nowS: number, toleranceS = 300): boolean {
  const parts = new Map<string, string[]>();
  for (const part of header.split(',')) {
    const eq = part.indexOf('=');
    if (eq > 0) parts.set(part.slice(0, eq).trim(), [...(parts.get(part.slice(0, eq).trim()) ?? []), part.slice(eq + 1).trim()]);
  }
  const t = Number(parts.get('t')?.[0]);
  if (!Number.isSafeInteger(t) || Math.abs(nowS - t) > toleranceS) return false;
  const expected = Buffer.from(createHmac('sha256', secret).update(`${t}.${body}`, 'utf8').digest('hex'), 'utf8');
  // Several v1 values may come while a secret is being rotated: any one matching is enough.
  return (parts.get('v1') ?? []).some((v) => {
    const given = Buffer.from(v, 'utf8');
    return given.length === expected.length && timingSafeEqual(given, expected);
  });
}
