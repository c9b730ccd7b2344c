// A result's fingerprint: extraction is a pure function of (bytes, spec
// version), so two honest extractions of the same served body give the same
// items and links, in the same order, and hence the same digest. Opinions are
// compared by digest; the items themselves are kept only for the one that wins.
import { createHash } from 'node:crypto';
import type { ExtractedItem } from '../../shared/extract/engine.ts';

export function resultDigest(items: readonly ExtractedItem[], links: readonly string[]): string {
  return createHash('sha256').update(JSON.stringify([items, links])).digest('base64url');
}
