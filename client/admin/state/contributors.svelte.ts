// The contributors page's actions: disconnect one worker session, or ban the
// browser (or process) behind it so it cannot come back under another name.
import type { AdminWorker } from '../../../shared/admin-protocol.ts';
import type { AdminApp } from './app.svelte.ts';

export async function disconnectWorker(app: AdminApp, worker: AdminWorker): Promise<void> {
  const ok = await app.confirm({
    title: `Disconnect ${worker.name}?`,
    body: 'This session is closed and its pages in flight go to other workers. It may connect again (reload its page); to keep it out, ban it.',
    confirmLabel: 'Disconnect',
    danger: false,
  });
  if (!ok) return;
  await app.attempt(() => app.api.post(`/workers/${encodeURIComponent(worker.id)}/disconnect`), `Disconnected ${worker.name}`);
}

/** True when the worker was banned. */
export async function banWorker(app: AdminApp, worker: AdminWorker): Promise<boolean> {
  const ok = await app.confirm({
    title: `Ban ${worker.name}?`,
    body: 'Every session of this browser (or worker process) is closed, and it cannot connect again, whatever nickname it picks. Bans last across hub restarts.',
    confirmLabel: 'Ban',
    danger: true,
  });
  if (!ok) return false;
  return (await app.attempt(() => app.api.post(`/workers/${encodeURIComponent(worker.id)}/ban`).then(() => true), `Banned ${worker.name}`)) ?? false;
}
