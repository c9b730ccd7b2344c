// /api/specs: the library of named specs. Only valid specs are saved (the
// problems come back as SPEC_INVALID with their paths, like POST /crawls), so
// anything in the library can start a crawl.
import express, { type Request, type Router } from 'express';
import { z } from 'zod';
import { assertSpec, type Spec } from '../../../shared/spec/schema.ts';
import { SpecLibrary, SpecNameTakenError, type SavedSpecRow } from '../../storage/specs.ts';
import { HubError } from '../../../shared/errors.ts';
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
    createdAt: row.created_at,
    updatedAt: row.updated_at,
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

function requireRow(library: SpecLibrary, req: Request): SavedSpecRow {
  const row = library.get(String(req.params.id));
  if (!row) throw new HubError('SPEC_UNKNOWN', `no saved spec with id "${String(req.params.id)}"`);
  return row;
}

function named<T>(fn: () => T): T {
  try {
    return fn();
  } catch (error) {
    if (error instanceof SpecNameTakenError) throw new HubError(error.code, `${error.message}: choose another name`);
    throw error;
  }
}

export function specsRouter(library: SpecLibrary): Router {
  const router = express.Router();

  router.get('/specs', (_req, res) => {
    const list: SavedSpecList = { specs: library.list().map(summary) };
    res.json(list);
  });

  router.post('/specs', (req, res) => {
    const body = parseBody(createBody, req.body);
    const { json, parsed } = validSpecJson(body.spec);
    const row = named(() => library.create(body.name ?? parsed.name, json));
    res.status(201).location(`${req.baseUrl}/specs/${row.id}`).json(full(row));
  });

  router.get('/specs/:id', (req, res) => {
    res.json(full(requireRow(library, req)));
  });

  router.put('/specs/:id', (req, res) => {
    const row = requireRow(library, req);
    const body = parseBody(updateBody, req.body);
    const spec = body.spec === undefined ? undefined : validSpecJson(body.spec).json;
    const updated = named(() => library.update(row.id, { ...(body.name ? { name: body.name } : {}), ...(spec ? { spec } : {}) }));
    res.json(full(updated!));
  });

  router.post('/specs/:id/duplicate', (req, res) => {
    const row = requireRow(library, req);
    const body = parseBody(duplicateBody, req.body);
    const copy = named(() => library.create(body.name ?? library.copyName(row.name), row.spec));
    res.status(201).location(`${req.baseUrl}/specs/${copy.id}`).json(full(copy));
  });

  router.delete('/specs/:id', (req, res) => {
    const row = requireRow(library, req);
    library.remove(row.id);
    res.status(204).end();
  });

  return router;
}
