// Property-based fuzzing of every rpc of dapr.proto.runtime.v1.Dapr (Dapr gRPC port) and
// spec.proto.runtime.v1.Runtime (Layotto port), enumerated from the service definitions the
// sidecar serves, so new rpcs are covered without a change here. Each gets generated requests over
// a raw HTTP/2 client: messages of the right shape with odd values, protobuf that is not the
// message, and broken frames (truncated length prefixes, a compressed flag without grpc-encoding,
// two messages for a unary call, no message at all), plus odd metadata. No client mistake may get
// INTERNAL or UNKNOWN unless daprd/Layotto answer that case so (allowed.ts), no status carries a
// stack trace, and after each rpc's batch the sidecar is alive and a normal call succeeds.
// FUZZ_RUNS=<factor> scales the run counts.
import { status as Grpc } from '@grpc/grpc-js';
import fc from 'fast-check';
import type * as protobuf from 'protobufjs';
import { daprServiceDefinition } from '../../src/api/dapr-grpc/protos';
import { loadLayottoDefinition, PACKAGE } from '../../src/api/layotto-grpc/protos';
import { ALLOWED_GRPC } from './allowed';
import { oddString } from './arbitraries';
import { APP_ID, type FuzzEnv, NAMES, NO_URL, runs, STACK_TRACE, startFuzzEnv } from './fuzz-env';
import { bodyArb, favouredFor, loadDaprRoot, loadLayottoRoot } from './grpc-messages';
import { frame, type GrpcAnswer, RawGrpcClient } from './raw-grpc';

jest.setTimeout(10 * 60_000);

/** How long a streaming answer may stay open before it counts as a live subscription. */
const OPEN_MS = 150;

interface Rpc {
  service: 'dapr' | 'layotto';
  name: string;
  path: string;
  requestType: protobuf.Type;
  responseStream: boolean;
}

/** Rpcs that would end the process under test. */
const SKIPPED = new Set(['/dapr.proto.runtime.v1.Dapr/Shutdown']);

function rpcs(): Rpc[] {
  const dapr = loadDaprRoot();
  const layotto = loadLayottoRoot();
  const out: Rpc[] = [];
  const add = (service: Rpc['service'], root: protobuf.Root, def: Record<string, { path: string; responseStream: boolean }>, serviceName: string) => {
    const svc = root.lookupService(serviceName);
    for (const [name, m] of Object.entries(def)) {
      if (SKIPPED.has(m.path)) continue;
      out.push({ service, name, path: m.path, requestType: svc.methods[name]!.resolvedRequestType!, responseStream: m.responseStream });
    }
  };
  add('dapr', dapr, daprServiceDefinition, 'dapr.proto.runtime.v1.Dapr');
  add('layotto', layotto, loadLayottoDefinition()[`${PACKAGE}.Runtime`] as unknown as Record<string, { path: string; responseStream: boolean }>, `${PACKAGE}.Runtime`);
  return out;
}

const metadataArb: fc.Arbitrary<Record<string, string>> = fc
  .array(
    fc.oneof(
      fc.tuple(fc.constant('dapr-app-id'), fc.oneof(fc.constantFrom(APP_ID, 'nope', ''), oddString)),
      fc.tuple(fc.constant('grpc-timeout'), fc.constantFrom('1n', '1S', '99999999H', '0m', 'x', '-1S', '123456789012M')),
      fc.tuple(fc.constant('grpc-encoding'), fc.constantFrom('gzip', 'deflate', 'identity', 'snappy', '')),
      fc.tuple(fc.constantFrom('traceparent', 'tracestate', 'dapr-api-token', 'grpc-trace-bin', 'x-fuzz'), oddString),
    ),
    { maxLength: 2 },
  )
  .map((kv) => Object.fromEntries(kv.map(([k, v]) => [k, v.replace(/[^\x20-\x7e]/g, '?')] as [string, string]).filter(([, v]) => NO_URL(v))));

const CODE_NAMES = Object.fromEntries(Object.entries(Grpc).map(([k, v]) => [v, k]));

/** The reason an answer is wrong, or undefined. */
export function violation(rpc: Rpc, a: GrpcAnswer): string | undefined {
  if (STACK_TRACE.test(a.message)) return 'a stack trace or source path in grpc-message';
  if (a.status === 'open') return rpc.responseStream ? undefined : 'a unary call left open';
  if (a.status === 'reset') return 'the stream was reset without a status';
  if (a.status !== Grpc.INTERNAL && a.status !== Grpc.UNKNOWN) return undefined;
  if (ALLOWED_GRPC.some((x) => x.methods.test(rpc.path) && x.code === a.status && x.message.test(a.message))) return undefined;
  return `${CODE_NAMES[a.status]} "${a.message}" for a client's request`;
}

describe('gRPC APIs (Dapr and Layotto) under generated bad input', () => {
  let env: FuzzEnv;
  const clients: Record<Rpc['service'], RawGrpcClient> = {} as never;
  const seen = new Map<string, Map<string, number>>();

  beforeAll(async () => {
    env = await startFuzzEnv();
    clients.dapr = new RawGrpcClient(env.sc.grpcPort);
    clients.layotto = new RawGrpcClient(env.sc.layottoPort);
  });
  afterAll(async () => {
    clients.dapr?.close();
    clients.layotto?.close();
    await env?.stop();
    if (process.env.FUZZ_VERBOSE) for (const [r, m] of seen) process.stdout.write(`${r}: ${[...m].map(([k, n]) => `${k}×${n}`).join(' ')}\n`);
  });

  const all = rpcs();
  const dapr = loadDaprRoot();
  const layotto = loadLayottoRoot();

  /** A normal call on each API answers OK (a fresh connection, so a poisoned session does not hide a dead server). */
  async function normalCallsSucceed(): Promise<void> {
    await env.assertHealthy();
    const md = dapr.lookupType('dapr.proto.runtime.v1.GetMetadataRequest');
    const hello = layotto.lookupType(`${PACKAGE}.SayHelloRequest`);
    const fresh = { dapr: new RawGrpcClient(env.sc.grpcPort), layotto: new RawGrpcClient(env.sc.layottoPort) };
    try {
      const a = await fresh.dapr.call({ path: '/dapr.proto.runtime.v1.Dapr/GetMetadata', body: frame(Buffer.from(md.encode({}).finish())) });
      expect([a.status, a.message]).toEqual([Grpc.OK, expect.any(String)]);
      const b = await fresh.layotto.call({ path: `/${PACKAGE}.Runtime/SayHello`, body: frame(Buffer.from(hello.encode({ service_name: NAMES.hello, name: 'fuzz' }).finish())) });
      expect([b.status, b.message]).toEqual([Grpc.OK, expect.any(String)]);
    } finally {
      fresh.dapr.close();
      fresh.layotto.close();
    }
  }

  it('enumerates every rpc of both services', () => {
    expect(all.filter((r) => r.service === 'dapr').length).toBeGreaterThan(50);
    expect(all.filter((r) => r.service === 'layotto').map((r) => r.name)).toEqual(expect.arrayContaining(['SayHello', 'GetState', 'PublishEvent', 'TryLock', 'GetNextId', 'PutFile', 'GetFile', 'SubscribeTopicEvents']));
  });

  it.each(all.map((r) => [r.path, r] as const))('%s', async (_path, rpc) => {
    const counts = new Map<string, number>();
    seen.set(rpc.path, counts);
    const arb = fc.record({ body: bodyArb(rpc.requestType, favouredFor(rpc.name)), metadata: metadataArb });
    await fc.assert(
      fc.asyncProperty(arb, async ({ body, metadata }) => {
        const a = await clients[rpc.service].call({ path: rpc.path, body: body.body, metadata }, rpc.responseStream ? OPEN_MS : undefined);
        const detail = a.status === Grpc.INTERNAL || a.status === Grpc.UNKNOWN ? `(${a.message.slice(0, 120)})` : '';
        const key = `${body.kind}:${typeof a.status === 'number' ? CODE_NAMES[a.status] : a.status}${detail}`;
        counts.set(key, (counts.get(key) ?? 0) + 1);
        const why = violation(rpc, a);
        if (why) throw new Error(`${rpc.path}: ${why}\nbody (${body.kind}): ${body.body.subarray(0, 300).toString('hex')}\nmetadata: ${JSON.stringify(metadata)}`);
      }),
      { numRuns: runs(rpc.responseStream ? 12 : 22), seed: process.env.FUZZ_SEED ? Number(process.env.FUZZ_SEED) : undefined, endOnFailure: !!process.env.FUZZ_NO_SHRINK },
    );
    await normalCallsSucceed();
  });

  it('survives streams reset mid-message and connections dropped mid-frame', async () => {
    const rpc = all.find((r) => r.path === `/${PACKAGE}.Runtime/PutFile`)!;
    await fc.assert(
      fc.asyncProperty(bodyArb(rpc.requestType), fc.integer({ min: 0, max: 30 }), async (body, cutMs) => {
        const c = new RawGrpcClient(env.sc.layottoPort);
        const pending = c.call({ path: rpc.path, body: body.body.subarray(0, Math.ceil(body.body.length / 2)) }, cutMs);
        await new Promise((r) => setTimeout(r, cutMs));
        c.close();
        await pending.catch(() => undefined);
      }),
      { numRuns: runs(30) },
    );
    await normalCallsSucceed();
  });
});
