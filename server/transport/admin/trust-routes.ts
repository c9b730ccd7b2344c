// /api/trust, /api/bans and /api/worker-tokens: what validation knows of each
// contributor, the bans (with unban), and the worker tokens that mark an
// operator's edge workers as trusted (docs/trust.md).
import express, { type Router } from 'express';
import { z } from 'zod';
import { HubError } from '../../../shared/errors.ts';
import type { Engine } from '../../engine/engine.ts';
import type { BanList, IssuedWorkerToken, WorkerTokenList } from '../../../shared/admin-api.ts';

const text = (max: number) => z.string().transform((s) => s.normalize('NFC').replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim()).pipe(z.string().min(1).max(max));

const banBody = z
  .strictObject({ clientId: text(200).optional(), address: text(100).optional(), reason: text(300).optional() })
  .refine((b) => b.clientId !== undefined || b.address !== undefined, 'name a "clientId", an "address" or both');
const tokenBody = z.strictObject({ name: text(100) });

function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) throw new HubError('BAD_REQUEST', parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  return parsed.data;
}

export function trustRouter(engine: Engine): Router {
  const router = express.Router();
  const keeper = engine.trust;

  router.get('/trust', (_req, res) => {
    res.json(keeper.view());
  });

  router.get('/bans', (_req, res) => {
    const list: BanList = { bans: keeper.bans.list() };
    res.json(list);
  });

  router.post('/bans', async (req, res) => {
    const body = parseBody(banBody, req.body);
    const sessionsClosed = await engine.ban(
      { ...(body.clientId ? { clientId: body.clientId } : {}), ...(body.address ? { address: body.address } : {}) },
      body.reason ?? 'banned by the operator',
    );
    res.status(201).json({ ...body, sessionsClosed });
  });

  router.delete('/bans/:kind/:value', async (req, res) => {
    const kind = req.params.kind;
    if (kind !== 'client' && kind !== 'address') throw new HubError('BAD_REQUEST', 'a ban is of kind "client" or "address"');
    if (!(await keeper.unban(kind, req.params.value!))) throw new HubError('BAN_UNKNOWN', `no ${kind} ban on "${req.params.value}"`);
    res.json({ unbanned: { kind, value: req.params.value } });
  });

  router.get('/worker-tokens', (_req, res) => {
    const list: WorkerTokenList = { tokens: keeper.listTokens().map(({ id, name, createdAt }) => ({ id, name, createdAt })) };
    res.json(list);
  });

  router.post('/worker-tokens', async (req, res) => {
    const { name } = parseBody(tokenBody, req.body);
    const { row, token } = await keeper.issueToken(name);
    const issued: IssuedWorkerToken = { id: row.id, name: row.name, createdAt: row.createdAt, token };
    res.status(201).json(issued);
  });

  router.delete('/worker-tokens/:id', async (req, res) => {
    if (!(await keeper.revokeToken(req.params.id!))) throw new HubError('WORKER_TOKEN_NOT_FOUND', `no worker token "${req.params.id}"`);
    res.json({ revoked: req.params.id });
  });

  return router;
}
