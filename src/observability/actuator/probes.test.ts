import { ComponentStore } from '../../components/store';
import { componentProbes } from './components';
import { CachedProbes, type Probe } from './probes';

describe('CachedProbes', () => {
  it('reports UP, DOWN with the reason, a timeout, and a ping that throws synchronously', async () => {
    const probes: Probe[] = [
      { name: 'ok', ping: async () => {} },
      { name: 'refused', ping: async () => Promise.reject(new Error('connection refused')) },
      { name: 'hung', ping: () => new Promise(() => {}) },
      {
        name: 'sync',
        ping: () => {
          throw new Error('not initialized');
        },
      },
    ];
    const r = await new CachedProbes(() => probes, { timeoutMs: 50, cacheMs: 0 }).check();
    expect(r).toEqual({
      ok: { status: 'UP' },
      refused: { status: 'DOWN', details: { reason: 'connection refused' } },
      hung: { status: 'DOWN', details: { reason: 'ping timed out after 50 ms' } },
      sync: { status: 'DOWN', details: { reason: 'not initialized' } },
    });
  });

  it('pings once for concurrent checks and reuses the result for cacheMs', async () => {
    let pings = 0;
    let list = 0;
    const probes = new CachedProbes(
      () => {
        list++;
        return [{ name: 'p', ping: async () => void pings++ }];
      },
      { timeoutMs: 1000, cacheMs: 60_000 },
    );
    await Promise.all([probes.check(), probes.check(), probes.check()]);
    await probes.check();
    expect([pings, list]).toEqual([1, 1]);
  });

  it('pings again once the cached result is older than cacheMs', async () => {
    let pings = 0;
    const probes = new CachedProbes(() => [{ name: 'p', ping: async () => void pings++ }], { timeoutMs: 1000, cacheMs: 0 });
    await probes.check();
    await probes.check();
    expect(pings).toBe(2);
  });
});

describe('componentProbes', () => {
  it('adds an always-DOWN probe per component skipped under ignoreErrors', async () => {
    const skipped = [{ kind: 'state', name: 'cache', reason: 'error connecting to redis at 127.0.0.1:1' }];
    const r = await new CachedProbes(componentProbes(new ComponentStore(), () => skipped), { timeoutMs: 50, cacheMs: 0 }).check();
    expect(r).toEqual({ 'state-cache': { status: 'DOWN', details: { reason: 'not loaded (init failed; ignoreErrors): error connecting to redis at 127.0.0.1:1' } } });
  });
});
