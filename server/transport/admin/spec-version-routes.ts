// PUT /api/crawls/:id/spec pushes a new spec version to a running crawl
// (server/crawl/respec.ts); GET /api/crawls/:id/versions lists every version
// with the items extracted under it and the queued URLs it dropped.
import express, { type Router } from 'express';
import { HubError } from '../../../shared/errors.ts';
import type { Engine } from '../../engine/engine.ts';
import type { SpecUpdated, SpecVersionList, SpecVersionView } from '../../../shared/admin-api.ts';

/** The body: a spec, or `{ "spec": {...} }`. */
function specOf(body: unknown): unknown {
  if (typeof body !== 'object' || body === null || Array.isArray(body) || !Object.hasOwn(body, 'spec')) return body;
  const unknown = Object.keys(body).filter((key) => key !== 'spec');
  if (unknown.length > 0) throw new HubError('BAD_REQUEST', `unknown key(s) ${unknown.map((k) => JSON.stringify(k)).join(', ')}: send a spec, or { "spec": {...} }`);
  return (body as { spec: unknown }).spec;
}

export function specVersionRouter(engine: Engine): Router {
  const router = express.Router();

  router.put('/crawls/:id/spec', async (req, res) => {
    if (req.body === undefined) throw new HubError('UNSUPPORTED_MEDIA_TYPE', 'send the spec as JSON with "Content-Type: application/json"');
    const crawl = engine.crawls.require(req.params.id);
    const { version, dropped } = await engine.crawls.updateSpec(crawl.id, specOf(req.body));
    const answer: SpecUpdated = { crawl: crawl.summary(), version, dropped };
    res.json(answer);
  });

  router.get('/crawls/:id/versions', async (req, res) => {
    const crawl = engine.crawls.require(req.params.id);
    const stored = await engine.storage.listSpecVersions(crawl.id);
    const items = new Map((await engine.storage.itemsByVersion(crawl.id)).map((r) => [r.specVersion, r.items]));
    const view = (version: number, createdAt: number, dropped: number, spec: unknown): SpecVersionView => ({
      version, createdAt, items: items.get(version) ?? 0, dropped, spec, current: version === crawl.specVersion,
    });
    // A crawl never changed has no stored versions: its one spec is the crawl's.
    const versions = stored.length > 0
      ? stored.map((v) => view(v.version, v.createdAt, v.dropped, JSON.parse(v.spec)))
      : [view(crawl.specVersion, crawl.createdAt, 0, crawl.spec)];
    const list: SpecVersionList = { crawlId: crawl.id, current: crawl.specVersion, versions };
    res.json(list);
  });

  return router;
}
