// The console's Schedules and Webhooks pages in headless Chromium, against a
// real hub: a schedule is added (a bad cron expression is refused with the
// hub's reason), listed with its next run and paused; a webhook is added, its
// secret shown once, and a crawl's delivery appears with the receiver's answer.
import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Browser, Page } from 'playwright-core';
import { launchChromium } from '../../server/browser/chromium.ts';
import { startTestHub, TEST_ADMIN_TOKEN } from '../helpers/hub.ts';
import { testSpec } from '../server/transport/admin/helpers.ts';

let browser: Browser;
let hub: Awaited<ReturnType<typeof startTestHub>>;
let receiver: Server;
let receiverUrl: string;

before(async () => {
  browser = await launchChromium();
  hub = await startTestHub();
  receiver = createServer((req, res) => {
    req.resume().on('end', () => {
      res.statusCode = 202;
      res.end();
    });
  });
  await new Promise<void>((resolve) => receiver.listen(0, '127.0.0.1', resolve));
  receiverUrl = `http://127.0.0.1:${(receiver.address() as AddressInfo).port}/hook`;
});
after(async () => {
  await browser?.close();
  await hub?.cleanup();
  await new Promise((resolve) => receiver?.close(resolve));
});

async function signIn(page: Page): Promise<void> {
  await page.goto(`${hub.url}/admin`);
  await page.getByLabel('Admin token').fill(TEST_ADMIN_TOKEN);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('link', { name: 'New crawl' }).first().waitFor();
}

test('the operator adds a schedule for a saved spec, sees its next run, pauses it, and adds a webhook that reports a delivery', async () => {
  await hub.storage.insertSpec({ id: 'spec_ui', name: 'ui books', spec: JSON.stringify(testSpec()), createdAt: 1, updatedAt: 1 });
  const page = await (await browser.newContext({ timezoneId: 'Europe/Paris' })).newPage();
  try {
    await signIn(page);
    await page.getByRole('link', { name: 'Schedules' }).click();
    await page.getByText('No schedules yet').waitFor();
    assert.equal(await page.getByLabel('Time zone').inputValue(), 'Europe/Paris', "the browser's zone to begin with");
    await page.getByLabel('Cron (minute hour day month weekday)').fill('0 25 * * *');
    await page.getByRole('button', { name: 'Save schedule' }).click();
    await page.getByText(/SCHEDULE_INVALID|cron: /).first().waitFor();
    await page.getByLabel('Cron (minute hour day month weekday)').fill('30 2 * * *');
    await page.getByRole('button', { name: 'Save schedule' }).click();
    const row = page.locator('li[data-schedule-id]');
    await row.waitFor();
    assert.match(await row.textContent() ?? '', /ui books[\s\S]*30 2 \* \* \*[\s\S]*Europe\/Paris[\s\S]*Next run: (?!—)/);
    await row.getByRole('button', { name: 'Pause' }).click();
    await row.getByText('paused').waitFor();
    assert.equal((await hub.storage.listSchedules())[0]!.paused, true);

    await page.getByRole('link', { name: 'Webhooks' }).click();
    await page.getByLabel('URL').fill(receiverUrl);
    await page.getByRole('button', { name: 'Add webhook' }).click();
    const secret = await page.locator('.secret code').textContent();
    assert.match(secret ?? '', /^whsec_/);
    await page.getByRole('button', { name: 'Done' }).click();
    await hub.engine.createCrawl(testSpec());
    await hub.ops.eventsQueued();
    await hub.ops.deliverer.idle();
    await page.getByRole('button', { name: 'Reload' }).click();
    const delivery = page.locator('tbody tr').first();
    await delivery.getByText('delivered').waitFor();
    assert.match(await delivery.textContent() ?? '', /crawl\.started[\s\S]*202/);
  } finally {
    await page.context().close();
  }
});
