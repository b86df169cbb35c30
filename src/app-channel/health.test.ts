// App health checks with a scripted probe: unhealthy until the first good probe, `threshold`
// failures in a row to turn unhealthy, one success to recover; the gated channel fails
// invocations fast and holds deliveries until the app is healthy.
import { Readable } from 'node:stream';
import { until } from '../../test/wait';
import type { InvokeRequest, InvokeResponse } from '../core/invoke/types';
import { APP_UNHEALTHY, AppHealth, HealthCheckedChannel } from './health';
import type { AppChannel, AppTopicEvent } from './types';

const OPTS = { intervalMs: 10, timeoutMs: 5, threshold: 3 };

function scripted(initial: boolean) {
  const s = { ok: initial, probes: 0, aborted: 0 };
  const probe = async (signal: AbortSignal) => {
    s.probes++;
    if (s.ok === undefined) {
      // never answers: the timeout aborts it
      await new Promise<void>((r) => signal.addEventListener('abort', () => r(), { once: true }));
      s.aborted++;
      return true;
    }
    return s.ok;
  };
  return { s: s as { ok: boolean | undefined; probes: number; aborted: number }, probe };
}

describe('AppHealth', () => {
  it('is unhealthy until a probe succeeds, unhealthy again after `threshold` failures, healthy after one success', async () => {
    const { s, probe } = scripted(false);
    const h = new AppHealth(probe, OPTS);
    expect(h.healthy).toBe(false);
    h.start();
    await until(() => s.probes >= 2, () => 'two probes');
    expect(h.healthy).toBe(false);
    s.ok = true;
    await until(() => h.healthy, () => 'healthy');
    s.ok = false;
    const before = s.probes;
    await until(() => !h.healthy, () => 'unhealthy');
    expect(s.probes - before).toBeGreaterThanOrEqual(3);
    s.ok = true;
    await until(() => h.healthy, () => 'healthy again');
    h.stop();
  });

  it('a probe that does not answer within the timeout counts as failed', async () => {
    const { s, probe } = scripted(true);
    const h = new AppHealth(probe, OPTS);
    h.start();
    await until(() => h.healthy, () => 'healthy');
    s.ok = undefined;
    await until(() => !h.healthy, () => 'unhealthy');
    expect(s.aborted).toBeGreaterThanOrEqual(1);
    h.stop();
  });

  it('whenHealthy waits for recovery, and is released by stop()', async () => {
    const { s, probe } = scripted(false);
    const h = new AppHealth(probe, OPTS);
    h.start();
    let released = false;
    const wait = h.whenHealthy().then(() => (released = true));
    await until(() => s.probes >= 2, () => 'probes');
    expect(released).toBe(false);
    s.ok = true;
    await wait;
    h.stop();
    const h2 = new AppHealth(scripted(false).probe, OPTS);
    const w2 = h2.whenHealthy();
    h2.stop();
    await w2;
  });
});

describe('HealthCheckedChannel', () => {
  const answer: InvokeResponse = { status: 200, headers: {}, contentType: '', body: Readable.from([]) };
  const inner: AppChannel = {
    kind: 'http',
    invoke: async () => answer,
    listSubscriptions: async () => [],
    deliverEvent: async () => 'SUCCESS',
    deliverBulk: async () => new Map(),
    listensToBinding: async () => false,
    deliverBindingEvent: async () => {
      throw new Error('not used here');
    },
    probeHealth: async () => true,
    close: async () => undefined,
  };
  const req = { appId: 'a', method: 'm', verb: 'GET', query: '', headers: {}, contentType: '', body: Readable.from([]) } as InvokeRequest;

  it('fails invocations fast while unhealthy and holds deliveries until healthy', async () => {
    const { s, probe } = scripted(false);
    const health = new AppHealth(probe, OPTS);
    const ch = new HealthCheckedChannel(inner, health);
    health.start();
    await expect(ch.invoke(req)).rejects.toThrow(APP_UNHEALTHY);
    let delivered = false;
    const d = ch.deliverEvent({} as AppTopicEvent).then((r) => ((delivered = true), r));
    await until(() => s.probes >= 2, () => 'probes');
    expect(delivered).toBe(false);
    s.ok = true;
    expect(await d).toBe('SUCCESS');
    expect(await ch.invoke(req)).toBe(answer);
    expect(ch.kind).toBe('http');
    await ch.close();
  });
});
