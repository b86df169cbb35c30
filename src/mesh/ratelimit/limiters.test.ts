import { KeyedLimiter } from './keyed';
import { clientIp, keyBy } from './keys';
import { TokenBucket } from './token-bucket';
import { FixedWindow, SlidingWindow } from './window';
import { windowsFor } from './shared';
import type { Exchange } from '../filter';

const admitted = (take: () => boolean, n: number) => Array.from({ length: n }, take).filter(Boolean).length;

describe('TokenBucket', () => {
  it('admits a full burst, then the refill rate', () => {
    const b = new TokenBucket(10, 10, 0);
    expect(admitted(() => b.take(0), 25)).toBe(10);
    expect(b.take(50)).toBe(false); // half a token
    expect(b.take(100)).toBe(true);
    // one second later: 10 more, never more than the burst
    expect(admitted(() => b.take(1100), 25)).toBe(10);
    expect(admitted(() => b.take(60_000), 25)).toBe(10);
  });

  it('holds a steady rate under load: 100/s offered 500/s admits 100 per second', () => {
    const b = new TokenBucket(100, 100, 0);
    let ok = 0;
    for (let t = 0; t < 1000; t += 2) b.take(t); // drain the burst during a warm-up second
    for (let t = 1000; t < 4000; t += 2) if (b.take(t)) ok++;
    expect(ok).toBeGreaterThanOrEqual(299);
    expect(ok).toBeLessThanOrEqual(301);
  });

  it('ignores a clock that steps back and reports idleness once full', () => {
    const b = new TokenBucket(1, 2, 1000);
    expect(b.take(1000) && b.take(1000)).toBe(true);
    expect(b.take(500)).toBe(false);
    expect(b.idle(2000)).toBe(false);
    expect(b.idle(3000)).toBe(true);
  });

  it('rejects a non-positive rate or burst', () => {
    expect(() => new TokenBucket(0, 1, 0)).toThrow(/positive/);
    expect(() => new TokenBucket(-5, 1, 0)).toThrow(/positive/);
    expect(() => new TokenBucket(1, 0, 0)).toThrow(/burst/);
  });
});

describe('FixedWindow', () => {
  it('resets at each window boundary', () => {
    const w = new FixedWindow(3, 1000, 0);
    expect(admitted(() => w.take(10), 5)).toBe(3);
    expect(w.take(999)).toBe(false);
    expect(admitted(() => w.take(1000), 5)).toBe(3);
    expect(admitted(() => w.take(5500), 5)).toBe(3); // skips empty windows
    expect(w.take(5999)).toBe(false);
  });

  it('a zero limit refuses everything', () => {
    const w = new FixedWindow(0, 1000, 0);
    expect(w.take(0)).toBe(false);
  });
});

describe('SlidingWindow', () => {
  it('admits the limit in any window; counts leave a bucket (a tenth of the window) at a time', () => {
    const w = new SlidingWindow(5, 1000, 0);
    expect(admitted(() => w.take(0), 10)).toBe(5);
    expect(admitted(() => w.take(950), 10)).toBe(0); // still within the same window
    expect(admitted(() => w.take(1000), 10)).toBe(5); // the first bucket slid out
    expect(w.idle(1500)).toBe(false);
    expect(w.idle(2000)).toBe(true);
    expect(admitted(() => w.take(60_000), 10)).toBe(5);
  });

  it('never exceeds the limit in a window under steady load, unlike a fixed window at its boundary', () => {
    const sliding = new SlidingWindow(10, 1000, 0);
    const fixed = new FixedWindow(10, 1000, 0);
    const times = { sliding: [] as number[], fixed: [] as number[] };
    for (let t = 500; t < 5000; t += 7) {
      if (sliding.take(t)) times.sliding.push(t);
      if (fixed.take(t)) times.fixed.push(t);
    }
    const worst = (ts: number[]) => Math.max(...ts.map((t0) => ts.filter((t) => t >= t0 && t < t0 + 1000).length));
    expect(worst(times.sliding)).toBeLessThanOrEqual(10);
    expect(worst(times.fixed)).toBeGreaterThan(10);
    expect(times.sliding.length).toBeGreaterThanOrEqual(40);
  });
});

describe('KeyedLimiter', () => {
  it('keeps one state per key and forgets idle ones', () => {
    let now = 0;
    const k = new KeyedLimiter((t) => new TokenBucket(1, 1, t), { clock: () => now, sweepMs: 1000 });
    expect(k.take('a')).toBe(true);
    expect(k.take('a')).toBe(false);
    expect(k.take('b')).toBe(true);
    expect(k.size).toBe(2);
    now = 5000;
    expect(k.take('c')).toBe(true); // the sweep drops a and b (full again)
    expect(k.size).toBe(1);
  });

  it('with lru, forgets the least recently used key first', () => {
    const k = new KeyedLimiter((t) => new TokenBucket(1, 1, t), { clock: () => 0, maxKeys: 2, lru: true });
    expect([k.take('a'), k.take('b'), k.take('a')]).toEqual([true, true, false]);
    k.take('c'); // evicts b, used longer ago than a
    expect(k.take('a')).toBe(false);
    expect(k.take('b')).toBe(true);
  });
  it('caps the number of live keys', () => {
    const k = new KeyedLimiter((t) => new TokenBucket(1, 1, t), { clock: () => 0, maxKeys: 3 });
    for (let i = 0; i < 10; i++) k.take(`k${i}`);
    expect(k.size).toBe(3);
  });
});

describe('keys', () => {
  const ex = (over: Partial<Exchange>): Exchange => ({ api: 'dapr-http', protocol: 'http', verb: 'GET', route: '/v1.0/state/:storeName/:key', path: '/v1.0/state/s/k', headers: { 'x-tenant': 't1' }, remoteAddress: '127.0.0.1', streaming: false, startNs: 0n, attrs: new Map(), ...over });

  it('canonicalizes client addresses', () => {
    expect(clientIp({ remoteAddress: '::ffff:10.0.0.1' })).toBe('10.0.0.1');
    expect(clientIp({ remoteAddress: '10.0.0.1:5432' })).toBe('10.0.0.1');
    expect(clientIp({ remoteAddress: 'ipv4:10.0.0.1:5432' })).toBe('10.0.0.1');
    expect(clientIp({ remoteAddress: '[::1]:5432' })).toBe('::1');
    expect(clientIp({ remoteAddress: '::1' })).toBe('::1');
    expect(clientIp({ remoteAddress: '' })).toBe('0.0.0.0');
  });

  it('combines parts', () => {
    expect(keyBy(['client', 'path'])(ex({}))).toBe('127.0.0.1|/v1.0/state/s/k');
    expect(keyBy(['route'])(ex({}))).toBe('/v1.0/state/:storeName/:key');
    expect(keyBy([{ header: 'X-Tenant' }])(ex({}))).toBe('t1');
    expect(keyBy([{ header: 'x-missing' }, 'client'])(ex({}))).toBe('|127.0.0.1');
  });
});

describe('windowsFor (Redis counts whole points per whole seconds)', () => {
  it('turns a rate into points per window', () => {
    expect(windowsFor(100)).toEqual({ points: 100, windowSec: 1 });
    expect(windowsFor(2.5)).toEqual({ points: 3, windowSec: 1 });
    expect(windowsFor(0.5)).toEqual({ points: 1, windowSec: 2 });
    expect(windowsFor(0.3)).toEqual({ points: 1, windowSec: 4 });
  });
});
