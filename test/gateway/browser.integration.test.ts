/**
 * The live-graphs page in headless Chromium (Debian's `chromium`, driven by playwright-core): a
 * producer publishes, the chart's data grows, the page survives a gateway restart by itself, and a
 * screenshot is saved to test-artifacts/gateway-page.png.
 */
import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';
import { RedisServer, waitUntil } from '../support/redis-server.js';
import { createClient } from '../../src/client/index.js';
import { createGateway, startDemoStats, type Gateway } from '../../src/gateway/index.js';

const CHROMIUM = '/usr/bin/chromium';
const ARTIFACTS = join(process.cwd(), 'test-artifacts');

async function launch(): Promise<{ context: BrowserContext; dir: string }> {
  if (!existsSync(CHROMIUM)) {
    assert.fail(`${CHROMIUM} is missing: install Debian's chromium (apt-get install -y chromium; npm test's pretest step does this when run as root)`);
  }
  const dir = mkdtempSync(join(tmpdir(), 'redstack-chromium-'));
  const context = await chromium.launchPersistentContext(dir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1360, height: 900 },
  });
  return { context, dir };
}

const points = (page: Page, channel: string): Promise<number> => page.evaluate((c) => (globalThis as unknown as { tempo: { points(c: string): number } }).tempo.points(c), channel);

test('the page draws live charts of a channel, grows with each message, and reconnects by itself', { timeout: 90_000 }, async () => {
  const { context, dir } = await launch();
  const redis = await RedisServer.start();
  const producer = createClient(redis.url);
  const history = [{ pattern: 'stats.*', maxLen: 600 }];
  let gateway: Gateway | undefined;
  const errors: string[] = [];
  try {
    gateway = await createGateway({ redis: redis.url, port: 0, auth: { anonymousRead: ['stats.*'] }, history });
    const port = gateway.port;
    const demo = startDemoStats(producer, { history, intervalMs: 250, seed: 7 });
    const page = await context.newPage();
    page.on('pageerror', (e) => errors.push(e.message));
    await page.goto(`${gateway.url}/`);
    await page.waitForSelector('.card[data-channel="stats.router"] canvas', { timeout: 15_000 });
    await waitUntil(async () => (await points(page, 'stats.router')) >= 4, 15_000, 'points on the router chart');
    const first = await points(page, 'stats.router');
    await waitUntil(async () => (await points(page, 'stats.router')) >= first + 4, 15_000, 'the chart keeps growing');
    const fields = await page.evaluate(() => (globalThis as unknown as { tempo: { fields(c: string): string[] } }).tempo.fields('stats.router'));
    assert.deepEqual(fields.sort(), ['errors', 'p50_ms', 'p99_ms', 'requests']);
    assert.equal(await page.locator('#status').getAttribute('data-state'), 'live');
    const channels = await page.evaluate(() => (globalThis as unknown as { tempo: { channels(): string[] } }).tempo.channels());
    assert.deepEqual(channels.sort(), ['stats.logplex', 'stats.redis', 'stats.router']);

    // The gateway goes away and comes back on the same port: the page reconnects without help.
    await gateway.close();
    await waitUntil(async () => (await page.locator('#status').getAttribute('data-state')) === 'down', 10_000, 'the page noticed');
    gateway = await createGateway({ redis: redis.url, port, auth: { anonymousRead: ['stats.*'] }, history });
    await waitUntil(async () => (await page.locator('#status').getAttribute('data-state')) === 'live', 20_000, 'the page reconnected');
    const afterReconnect = await points(page, 'stats.router');
    await waitUntil(async () => (await points(page, 'stats.router')) >= afterReconnect + 3, 15_000, 'data flows again');

    // Watch another channel from the page's own form; a plain producer's numbers show up.
    await page.fill('#add-input', 'stats.custom');
    await page.click('#add-form button');
    for (let i = 0; i < 6; i++) {
      await producer.cmd(['PUBLISH', 'stats.custom', JSON.stringify({ temperature: 20 + i, load_pct: 50 + i })]);
      await new Promise((r) => setTimeout(r, 50));
    }
    await waitUntil(async () => (await points(page, 'stats.custom')) >= 6, 10_000, 'the custom channel is drawn');

    mkdirSync(ARTIFACTS, { recursive: true });
    await new Promise((r) => setTimeout(r, 600)); // one more render tick so the screenshot shows the latest points
    await page.screenshot({ path: join(ARTIFACTS, 'gateway-page.png'), fullPage: true });
    demo.stop();
    assert.deepEqual(errors, [], 'no script errors in the page');
  } finally {
    await context.close();
    rmSync(dir, { recursive: true, force: true });
    await gateway?.close();
    await producer.quit().catch(() => producer.disconnect());
    await redis.stop();
  }
});
