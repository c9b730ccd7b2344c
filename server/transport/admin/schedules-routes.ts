// /api/schedules: saved specs run on cron schedules (server/ops/scheduler.ts).
// Bodies are checked by zod; every problem comes back at once as
// SCHEDULE_INVALID with its path, like a spec's.
import express, { type Router } from 'express';
import { z } from 'zod';
import { HubError } from '../../../shared/errors.ts';
import type { ScheduleList, ScheduleView } from '../../../shared/ops-api.ts';
import type { ScheduleRow, Storage } from '../../storage/storage.ts';
import type { Ops } from '../../ops/ops.ts';
import { newOpsId } from '../../ops/ops.ts';
import { cronProblem, timeZoneProblem } from '../../ops/cron.ts';
import { parseWith } from './parse-with.ts';

const check = (problem: (v: string) => string | undefined) => (value: string, ctx: z.RefinementCtx) => {
  const message = problem(value);
  if (message) ctx.addIssue({ code: 'custom', message });
};

const fields = {
  name: z.string().trim().min(1, 'a name is needed').max(100, 'names are at most 100 characters'),
  specId: z.string().min(1).max(200),
  cron: z.string().max(200).superRefine(check(cronProblem)),
  timeZone: z.string().min(1, 'give the time zone the cron fields are read in, e.g. "UTC"').max(100).superRefine(check(timeZoneProblem)),
  overlap: z.enum(['skip', 'queue']),
  paused: z.boolean(),
  incremental: z.boolean(),
  keepRuns: z.number().int().min(0).max(100_000),
};
const createBody = z.strictObject({
  ...fields,
  name: fields.name.optional(),
  overlap: fields.overlap.default('skip'),
  paused: fields.paused.default(false),
  incremental: fields.incremental.default(false),
  keepRuns: fields.keepRuns.default(0),
});
const updateBody = z.strictObject(fields).partial();

export async function scheduleView(ops: Ops, storage: Storage, row: ScheduleRow, runs = 5): Promise<ScheduleView> {
  const spec = await storage.getSpec(row.specId);
  const { id: _id, createdAt: _c, updatedAt: _u, ...rest } = row;
  return {
    id: row.id,
    ...rest,
    specName: spec?.name ?? null,
    nextRunAt: (await ops.scheduler.nextRunAt(row)) ?? null,
    lastRuns: (await storage.listScheduleRuns(row.id, runs)).map(({ dueAt, state, crawlId, message, startedAt }) => ({ dueAt, state, crawlId, message, startedAt })),
    createdAt: row.createdAt,
    updatedAt: row.updatedAt,
  };
}

export function schedulesRouter(storage: Storage, ops: Ops, now: () => number): Router {
  const router = express.Router();
  const requireRow = async (id: string): Promise<ScheduleRow> => {
    const row = await storage.getSchedule(id);
    if (!row) throw new HubError('SCHEDULE_UNKNOWN', `no schedule with id "${id}"`);
    return row;
  };
  const requireSpec = async (specId: string) => {
    const spec = await storage.getSpec(specId);
    if (!spec) throw new HubError('SCHEDULE_INVALID', `specId: no saved spec with id "${specId}" (GET /api/specs lists them)`);
    return spec;
  };
  const change = async (row: ScheduleRow, patch: Partial<Omit<ScheduleRow, 'id' | 'createdAt' | 'updatedAt'>>) => {
    const { id: _id, createdAt: _c, ...rest } = row;
    const updated = await storage.updateSchedule(row.id, { ...rest, ...patch, updatedAt: now() });
    if (!updated) throw new HubError('SCHEDULE_UNKNOWN', `no schedule with id "${row.id}"`);
    ops.scheduler.kick();
    return updated;
  };

  router.get('/schedules', async (_req, res) => {
    const list: ScheduleList = { schedules: await Promise.all((await storage.listSchedules()).map((row) => scheduleView(ops, storage, row))) };
    res.json(list);
  });

  router.post('/schedules', async (req, res) => {
    const body = parseWith(createBody, req.body, 'SCHEDULE_INVALID');
    const spec = await requireSpec(body.specId);
    const at = now();
    const row: ScheduleRow = { id: newOpsId('sch'), ...body, name: body.name ?? spec.name, cron: body.cron.trim(), createdAt: at, updatedAt: at };
    await storage.insertSchedule(row);
    ops.scheduler.kick();
    res.status(201).location(`${req.baseUrl}/schedules/${row.id}`).json(await scheduleView(ops, storage, row));
  });

  router.get('/schedules/:id', async (req, res) => {
    res.json(await scheduleView(ops, storage, await requireRow(req.params.id), 50));
  });

  router.patch('/schedules/:id', async (req, res) => {
    const row = await requireRow(req.params.id);
    const body = parseWith(updateBody, req.body, 'SCHEDULE_INVALID');
    if (body.specId !== undefined) await requireSpec(body.specId);
    res.json(await scheduleView(ops, storage, await change(row, { ...body, ...(body.cron ? { cron: body.cron.trim() } : {}) })));
  });

  for (const [action, paused] of [['pause', true], ['resume', false]] as const) {
    router.post(`/schedules/:id/${action}`, async (req, res) => {
      const row = await requireRow(req.params.id);
      res.json(await scheduleView(ops, storage, row.paused === paused ? row : await change(row, { paused })));
    });
  }

  // Runs the schedule once now, as if it had come due (overlap rules apply).
  router.post('/schedules/:id/run', async (req, res) => {
    const row = await requireRow(req.params.id);
    await ops.scheduler.runNow(row);
    res.json(await scheduleView(ops, storage, row));
  });

  router.delete('/schedules/:id', async (req, res) => {
    const row = await requireRow(req.params.id);
    await storage.deleteSchedule(row.id);
    res.status(204).end();
  });

  return router;
}
