// The light signal against the APIs a forwarder hands it to: node:http, http2 and undici requests
// to a real server that never answers are cut when it aborts; listeners behave as on EventTarget.
import http from 'node:http';
import http2 from 'node:http2';
import type { AddressInfo } from 'node:net';
import { request } from 'undici';
import { CallSignal, toAbortSignal } from './call-signal';

let h1: http.Server;
let h2: http2.Http2Server;
const url = (s: { address(): unknown }) => `http://127.0.0.1:${(s.address() as AddressInfo).port}`;
beforeAll(async () => {
  h1 = http.createServer(() => undefined); // never answers
  h2 = http2.createServer();
  h2.on('stream', () => undefined);
  await Promise.all([new Promise<void>((r) => h1.listen(0, '127.0.0.1', r)), new Promise<void>((r) => h2.listen(0, '127.0.0.1', r))]);
});
afterAll(async () => {
  h1.closeAllConnections();
  await Promise.all([new Promise((r) => h1.close(r)), new Promise((r) => h2.close(r))]);
});

it('cuts a node:http request', async () => {
  const s = new CallSignal();
  const req = http.get(`${url(h1)}/`, { signal: s });
  const failed = new Promise((resolve) => req.on('error', resolve));
  setTimeout(() => s.abort(new Error('deadline')), 20);
  await expect(failed).resolves.toMatchObject({ name: 'AbortError' });
});

it('cuts an undici request with the abort reason', async () => {
  const s = new CallSignal();
  setTimeout(() => s.abort(new Error('deadline')), 20);
  await expect(request(`${url(h1)}/`, { signal: s })).rejects.toThrow('deadline');
});

it('cuts an http2 stream', async () => {
  const session = http2.connect(url(h2));
  try {
    const s = new CallSignal();
    const stream = session.request({ ':path': '/' }, { signal: s });
    const failed = new Promise((resolve) => stream.on('error', resolve));
    setTimeout(() => s.abort(), 20);
    await expect(failed).resolves.toMatchObject({ name: 'AbortError' });
  } finally {
    session.close();
  }
});

it('listeners: added once, removable, onabort first, the event named abort; a late listener never runs', () => {
  const s = new CallSignal();
  const seen: string[] = [];
  const a = () => seen.push('a');
  const b = { handleEvent: (e: Event) => seen.push(`b:${e.type}`) };
  const c = () => seen.push('c');
  s.onabort = () => seen.push('onabort');
  s.addEventListener('abort', a);
  s.addEventListener('abort', a);
  s.addEventListener('abort', b, { once: true });
  s.addEventListener('abort', c);
  s.removeEventListener('abort', c);
  s.abort();
  s.abort();
  s.addEventListener('abort', c);
  expect(seen).toEqual(['onabort', 'a', 'b:abort']);
  expect(s.reason).toMatchObject({ name: 'AbortError' });
  expect(() => s.throwIfAborted()).toThrow('This operation was aborted');
});

it('toAbortSignal links a real AbortSignal for brand-checking APIs', () => {
  const s = new CallSignal();
  const real = toAbortSignal(s);
  expect(real).toBeInstanceOf(AbortSignal);
  const any = AbortSignal.any([real, new AbortController().signal]);
  s.abort('why');
  expect(real.reason).toBe('why');
  expect(any.aborted).toBe(true);
  const done = new AbortController().signal;
  expect(toAbortSignal(done)).toBe(done);
});
