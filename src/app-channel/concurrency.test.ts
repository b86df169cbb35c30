// --app-max-concurrency: the semaphore alone, then both channels against apps that hold calls
// open, counting how many are in the app at once.
import * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import { LOADER_OPTIONS } from '../api/dapr-grpc/protos';
import { sleep } from '../../test/wait';
import { Semaphore } from './concurrency';
import { DAPR_APPCALLBACK_PROTO } from './grpc';
import { createAppChannel } from './index';
import type { AppChannel, AppTopicEvent } from './types';

const tick = () => new Promise((resolve) => setImmediate(resolve));

/** A gate the fake apps park calls at; open() lets the oldest one through. */
class Gate {
  inside = 0;
  maxInside = 0;
  private parked: (() => void)[] = [];
  enter(): Promise<void> {
    this.inside++;
    this.maxInside = Math.max(this.maxInside, this.inside);
    return new Promise((resolve) =>
      this.parked.push(() => {
        this.inside--;
        resolve();
      }),
    );
  }
  get waiting() {
    return this.parked.length;
  }
  openAll() {
    for (const p of this.parked.splice(0)) p();
  }
}

describe('Semaphore', () => {
  test('caps running calls and lets waiters in first come, first served', async () => {
    const sem = new Semaphore(2);
    const order: number[] = [];
    const releases: (() => void)[] = [];
    const calls = [0, 1, 2, 3, 4].map((i) =>
      sem.run(async () => {
        order.push(i);
        await new Promise<void>((resolve) => releases.push(resolve));
        return i;
      }),
    );
    await tick();
    expect(order).toEqual([0, 1]);
    expect([sem.inFlight, sem.waiting]).toEqual([2, 3]);
    releases[1]!();
    await tick();
    expect(order).toEqual([0, 1, 2]);
    releases[0]!();
    await tick();
    expect(order).toEqual([0, 1, 2, 3]);
    releases[2]!();
    releases[3]!();
    await tick();
    releases[4]!();
    expect(await Promise.all(calls)).toEqual([0, 1, 2, 3, 4]);
    expect([sem.inFlight, sem.waiting]).toEqual([0, 0]);
  });

  test('a call that throws frees its slot', async () => {
    const sem = new Semaphore(1);
    await expect(sem.run(async () => Promise.reject(new Error('x')))).rejects.toThrow('x');
    expect(await sem.run(async () => 'next')).toBe('next');
    expect(sem.inFlight).toBe(0);
  });

  test.each([undefined, 0, -1])('limit %p: no cap', async (limit) => {
    const sem = new Semaphore(limit);
    let running = 0;
    let peak = 0;
    await Promise.all(
      Array.from({ length: 20 }, () =>
        sem.run(async () => {
          peak = Math.max(peak, ++running);
          await tick();
          running--;
        }),
      ),
    );
    expect(peak).toBe(20);
  });
});

const event: AppTopicEvent = {
  cloudEvent: { id: '1', specversion: '1.0', type: 't', source: 's', datacontenttype: 'text/plain', data: 'hi' },
  data: Buffer.from('hi'),
  pubsubName: 'ps',
  topic: 't',
  path: '/t',
  metadata: {},
};

/** Fires `n` deliveries, waits until the app holds as many as it will get, and checks the cap. */
async function expectCapped(channel: AppChannel, gate: Gate, n: number, cap: number) {
  const all = Promise.all(Array.from({ length: n }, () => channel.deliverEvent(event)));
  while (gate.waiting < cap) await sleep(5);
  await sleep(50); // room for a call that should not get in
  expect(gate.inside).toBe(cap);
  let done = false;
  const settled = all.finally(() => (done = true));
  while (!done) {
    gate.openAll();
    await sleep(5);
  }
  expect(await settled).toEqual(Array(n).fill('SUCCESS'));
  expect(gate.maxInside).toBe(cap);
}

test('HTTP channel: at most maxConcurrency requests in the app at once', async () => {
  const gate = new Gate();
  const server = http.createServer((req, res) => {
    req.resume();
    req.on('end', () => void gate.enter().then(() => res.end()));
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const channel = createAppChannel({ address: '127.0.0.1', port: (server.address() as AddressInfo).port, protocol: 'http', appId: 'a', maxConcurrency: 2 });
  try {
    await expectCapped(channel, gate, 6, 2);
  } finally {
    await channel.close();
    server.closeAllConnections();
    await new Promise<void>((resolve) => server.close(() => resolve()));
  }
});

test('gRPC channel: at most maxConcurrency calls in the app at once', async () => {
  const gate = new Gate();
  const def = protoLoader.loadSync(DAPR_APPCALLBACK_PROTO, LOADER_OPTIONS);
  const server = new grpc.Server();
  server.addService(def['dapr.proto.runtime.v1.AppCallback'] as grpc.ServiceDefinition, {
    OnTopicEvent: (_call: unknown, cb: grpc.sendUnaryData<unknown>) => void gate.enter().then(() => cb(null, { status: 'SUCCESS' })),
  });
  const port = await new Promise<number>((res, rej) =>
    server.bindAsync('127.0.0.1:0', grpc.ServerCredentials.createInsecure(), (e, p) => (e ? rej(e) : res(p))),
  );
  const channel = createAppChannel({ address: '127.0.0.1', port, protocol: 'grpc', appId: 'a', maxConcurrency: 3 });
  try {
    await expectCapped(channel, gate, 7, 3);
  } finally {
    await channel.close();
    await new Promise<void>((resolve) => server.tryShutdown(() => resolve()));
  }
});
