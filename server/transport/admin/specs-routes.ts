// /api/specs: the library of named specs. Only valid specs are saved (the
// problems come back as SPEC_INVALID with their paths, like POST /crawls), so
// anything in the library can start a crawl.
import express, { type Request, type Router } from 'express';
import { z } from 'zod';
import { assertSpec, type Spec } from '../../../shared/spec/schema.ts';
import { SpecNameTakenError, type SavedSpecRow, type Storage } from '../../storage/storage.ts';
import { HubError } from '../../../shared/errors.ts';
import { copyName, newSpecId } from './spec-names.ts';
import type { SavedSpec, SavedSpecList, SavedSpecSummary } from '../../../shared/admin-api.ts';

const libraryName = z
  .string()
  .transform((s) => s.normalize('NFC').replace(/[\u0000-\u001f\u007f-\u009f]/g, '').trim())
  .pipe(z.string().min(1, 'a name is needed').max(100, 'names are at most 100 characters'));

const createBody = z.strictObject({ name: libraryName.optional(), spec: z.unknown() });
const updateBody = z.strictObject({ name: libraryName.optional(), spec: z.unknown().optional() });
const duplicateBody = z.strictObject({ name: libraryName.optional() });

function summary(row: SavedSpecRow): SavedSpecSummary {
  const spec = JSON.parse(row.spec) as { name?: unknown; startUrls?: unknown };
  return {
    id: row.id,
    name: row.name,
    specName: typeof spec.name === 'string' ? spec.name : '',
    startUrls: Array.isArray(spec.startUrls) ? spec.startUrls.length : 0,
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

function full(row: SavedSpecRow): SavedSpec {
  return { ...summary(row), spec: JSON.parse(row.spec) };
}

function parseBody<T extends z.ZodType>(schema: T, body: unknown): z.output<T> {
  const parsed = schema.safeParse(body ?? {});
  if (!parsed.success) {
    throw new HubError('BAD_REQUEST', parsed.error.issues.map((i) => `${i.path.join('.') || 'body'}: ${i.message}`).join('; '));
  }
  return parsed.data;
}

/** Checks the spec and returns it as written (JSON text); the validated form is thrown away. */
function validSpecJson(spec: unknown): { json: string; parsed: Spec } {
  const parsed = assertSpec(spec);
  return { json: JSON.stringify(spec), parsed };
}

async function requireRow(storage: Storage, req: Request): Promise<SavedSpecRow> {
  const row = await storage.getSpec(String(req.params.id));
  if (!row) throw new HubError('SPEC_UNKNOWN', `no saved spec with id "${String(req.params.id)}"`);
  return row;
}

async function named<T>(write: Promise<T>): Promise<T> {
  try {
    return await write;
  } catch (error) {
    if (error instanceof SpecNameTakenError) throw new HubError(error.code, `${error.message}: choose another name`);
    throw error;
  }
}

/** Saves a new spec under `name`, as written (`json`). */
function insert(storage: Storage, name: string, json: string, now = Date.now()): Promise<SavedSpecRow> {
  return named(storage.insertSpec({ id: newSpecId(), name, spec: json, createdAt: now, updatedAt: now }));
}

export function specsRouter(storage: Storage): Router {
  const router = express.Router();

  router.get('/specs', async (_req, res) => {
    const list: SavedSpecList = { specs: (await storage.listSpecs()).map(summary) };
    res.json(list);
  });

  router.post('/specs', async (req, res) => {
    const body = parseBody(createBody, req.body);
    const { json, parsed } = validSpecJson(body.spec);
    const row = await insert(storage, body.name ?? parsed.name, json);
    res.status(201).location(`${req.baseUrl}/specs/${row.id}`).json(full(row));
  });

  router.get('/specs/:id', async (req, res) => {
    res.json(full(await requireRow(storage, req)));
  });

  router.put('/specs/:id', async (req, res) => {
    const row = await requireRow(storage, req);
    const body = parseBody(updateBody, req.body);
    const spec = body.spec === undefined ? row.spec : validSpecJson(body.spec).json;
    const updated = await named(storage.updateSpec(row.id, { name: body.name ?? row.name, spec, updatedAt: Date.now() }));
    if (!updated) throw new HubError('SPEC_UNKNOWN', `no saved spec with id "${row.id}"`);
    res.json(full(updated));
  });

  router.post('/specs/:id/duplicate', async (req, res) => {
    const row = await requireRow(storage, req);
    const body = parseBody(duplicateBody, req.body);
    const copy = await insert(storage, body.name ?? (await copyName(storage, row.name)), row.spec);
    res.status(201).location(`${req.baseUrl}/specs/${copy.id}`).json(full(copy));
  });

  router.delete('/specs/:id', async (req, res) => {
    const row = await requireRow(storage, req);
    await storage.deleteSpec(row.id);
    res.status(204).end();
  });

  return router;
}
