import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadDashboard, startDashboard } from './server';
import type { DashboardSnapshot } from './types';

const log = pino({ level: 'silent' });
const snapshot = async (): Promise<DashboardSnapshot> => ({ time: new Date().toISOString(), appId: 'a', runtimeVersion: '1', components: [], subscriptions: [], proxy: null, routes: [], rejections: [], errors: [] });

function webDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'dash-web-'));
  mkdirSync(join(dir, 'assets'));
  writeFileSync(join(dir, 'index.html'), '<html></html>');
  writeFileSync(join(dir, 'assets', 'app.js'), 'console.log(1)');
  return dir;
}

describe('dashboard server', () => {
  it('refuses to start without the built page, saying what to run', async () => {
    const empty = mkdtempSync(join(tmpdir(), 'dash-empty-'));
    expect(() => loadDashboard(empty)).toThrow(/web page is not built .*index\.html is missing\): run "npm run build"/);
  });

  it('serves the page, its assets, the snapshot and the event stream; nothing else', async () => {
    const d = await startDashboard({ port: 0, host: '127.0.0.1', snapshot, log, assets: loadDashboard(webDir()) });
    const base = `http://127.0.0.1:${d.port}`;
    try {
      const page = await fetch(`${base}/`);
      expect([page.status, page.headers.get('content-type'), await page.text()]).toEqual([200, 'text/html; charset=utf-8', '<html></html>']);
      const js = await fetch(`${base}/assets/app.js`);
      expect([js.status, js.headers.get('content-type')]).toEqual([200, 'text/javascript; charset=utf-8']);
      expect(((await (await fetch(`${base}/api/snapshot`)).json()) as DashboardSnapshot).appId).toBe('a');
      expect((await fetch(`${base}/../../etc/passwd`)).status).toBe(404);
      expect((await fetch(`${base}/api/snapshot`, { method: 'POST' })).status).toBe(405);
      const ac = new AbortController();
      const stream = await fetch(`${base}/api/stream`, { signal: ac.signal });
      expect(stream.headers.get('content-type')).toBe('text/event-stream');
      const reader = stream.body!.getReader();
      let text = '';
      while (!text.includes('data: ')) text += new TextDecoder().decode((await reader.read()).value);
      ac.abort();
    } finally {
      await d.close();
    }
  });
});
