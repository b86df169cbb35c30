// Service invocation suites: a sidecar with a real @dapr/dapr DaprServer as its app (HTTP or gRPC,
// methods registered with server.invoker.listen; pubsub.ts' startDaprApp with 16 MB bodies), SDK
// clients that allow 16 MB messages, a plain node:http app that records exactly what reached it
// and answers from a script, and the cases of a call across two sidecars (crossSidecarCases).
import type { DaprClient, DaprServer, HttpMethod } from '@dapr/dapr';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingHttpHeaders, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { until } from '../../test/wait';
import { type AppProtocol, type DaprApp, sdkClient, startDaprApp } from './pubsub';
import { type Sidecar, type SidecarOptions, startSidecar } from './sidecar';

export type Protocol = AppProtocol;

/** Big enough for the 5 MB cases, base64 and JSON overhead included. */
export const MAX_BODY_MB = 16;
export const MAX_BODY_ARGS = ['--max-body-size', `${MAX_BODY_MB}Mi`];

/** A DaprClient on `sc` that takes MAX_BODY_MB messages. */
export const invokeClient = (sc: Sidecar, protocol: Protocol): DaprClient => sdkClient(sc, protocol, MAX_BODY_MB);

/** SDK clients made for one suite, all stopped by stopAll() (a client keeps its connections open until then). */
export class SdkClients {
  private readonly made: DaprClient[] = [];

  constructor(private readonly sidecar: () => Sidecar) {}

  of(protocol: Protocol): DaprClient {
    const c = invokeClient(this.sidecar(), protocol);
    this.made.push(c);
    return c;
  }

  async stopAll(): Promise<void> {
    await Promise.all(this.made.map((c) => c.stop().catch(() => undefined)));
  }
}

export type SdkApp = DaprApp;

/** A sidecar for app `appId` plus a DaprServer on its app port, both taking MAX_BODY_MB bodies; `register` adds the methods first. */
export function startSdkApp(protocol: Protocol, appId: string, register: (server: DaprServer) => Promise<void>, opts: Omit<SidecarOptions, 'appId' | 'wait'> = {}): Promise<SdkApp> {
  return startDaprApp({ ...opts, protocol, appId, subscribe: register, maxBodySizeMb: MAX_BODY_MB, args: [...MAX_BODY_ARGS, ...(opts.args ?? [])] });
}

export const sha256 = (data: Buffer | string): string => createHash('sha256').update(data).digest('hex');

/** What a plain app saw of one request (the body as its length and hash, plus its text when small). */
export interface Seen {
  method: string;
  url: string;
  headers: IncomingHttpHeaders;
  /** Header lines as sent, names lower-cased, repeated ones kept apart. */
  distinct: Record<string, string[]>;
  length: number;
  sha256: string;
  text: string;
}

export type Script = (seen: Seen, res: ServerResponse) => void;

/** A node:http app that records every request and answers `script` (default: 200 with a JSON echo). */
export class PlainApp {
  readonly seen: Seen[] = [];
  /** Small chunks as they arrive, before their request ends (to see that bodies stream). */
  readonly arriving: string[] = [];
  script: Script = (s, res) => res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ method: s.method, url: s.url, length: s.length }));
  private server?: Server;
  port = 0;

  async start(port = 0): Promise<this> {
    this.server = createServer((req: IncomingMessage, res: ServerResponse) => {
      // The sidecar's own startup calls (no programmatic subscriptions): not part of any case.
      if (req.url === '/dapr/subscribe' || req.url === '/dapr/config') {
        res.writeHead(404).end();
        return;
      }
      const hash = createHash('sha256');
      let length = 0;
      const head: Buffer[] = [];
      req.on('data', (c: Buffer) => {
        hash.update(c);
        length += c.length;
        if (length <= 4096) {
          head.push(c);
          this.arriving.push(c.toString());
        }
      });
      req.on('end', () => {
        const s: Seen = { method: req.method!, url: req.url!, headers: req.headers, distinct: req.headersDistinct as Record<string, string[]>, length, sha256: hash.digest('hex'), text: Buffer.concat(head).toString() };
        this.seen.push(s);
        this.script(s, res);
      });
    });
    await new Promise<void>((r) => this.server!.listen(port, '127.0.0.1', r));
    this.port = (this.server.address() as AddressInfo).port;
    return this;
  }

  get url(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  last(): Seen {
    const s = this.seen.at(-1);
    if (!s) throw new Error('the app got no request');
    return s;
  }

  async stop(): Promise<void> {
    if (!this.server) return;
    this.server.closeAllConnections();
    await new Promise<void>((r) => this.server!.close(() => r()));
    this.server = undefined;
  }
}

// ---------------------------------------------------------------------------------------------
// Across two sidecars: caller app A (its sidecar, no app) → sidecar 1 → sidecar 2 → target app B, a
// DaprServer (HTTP or gRPC). Each target suite supplies how its app registers B's methods:
//   echo  GET POST PUT DELETE PATCH  → { instance, verb, received } (received: the body as sent)
//   big   POST                       → { length, sha256, echo } of the text it got
//   fail  POST { fail }              → the app's failure `fail` (an HTTP status, a gRPC code)
//   flaky POST { key }               → a 500 (gRPC: a thrown error) on the first call of a key, then { key, attempts }
//   hold  POST { key }               → the first call of a key never answers (a hung app), later ones { instance, key, attempts }
// ---------------------------------------------------------------------------------------------

export const CALLER_ID = 'caller-a';
export const TARGET_ID = 'target-b';

/**
 * Sidecar 1 retries calls to B that fail with 500 (an HTTP app) or INTERNAL (a gRPC app whose handler
 * threw; HTTP callers see 500): twice, 50 ms apart.
 */
const CALLER_RESILIENCY = `apiVersion: dapr.io/v1alpha1
kind: Resiliency
metadata:
  name: retry-target
scopes: [${CALLER_ID}]
spec:
  policies:
    retries:
      retryOn500:
        policy: constant
        duration: 50ms
        maxRetries: 2
        matching:
          httpStatusCodes: "500"
          gRPCStatusCodes: "13"
  targets:
    apps:
      ${TARGET_ID}: {retry: retryOn500}
`;

/** One call as an instance of app B saw it. */
export interface TargetCall {
  instance: string;
  method: string;
  verb: string;
  /** The query string, without '?'. */
  query: string;
  contentType: string;
  /** What reached the app: HTTP headers, or the gRPC metadata of OnInvoke. */
  headers: Record<string, unknown>;
  /** The body as the client sent it (JSON parsed, text as it is). */
  received: unknown;
}

/** The calls every instance of B saw, and the attempts per key. */
export class TargetCalls {
  readonly list: TargetCall[] = [];
  private readonly attempts = new Map<string, number>();

  add(call: TargetCall): void {
    this.list.push(call);
  }

  of(method: string): TargetCall[] {
    return this.list.filter((c) => c.method === method);
  }

  /** The calls of `method` whose body had this `key`. */
  withKey(method: string, key: string): TargetCall[] {
    return this.of(method).filter((c) => (c.received as { key?: unknown } | null)?.key === key);
  }

  last(method: string): TargetCall {
    const c = this.of(method).at(-1);
    if (!c) throw new Error(`app B got no ${method} call`);
    return c;
  }

  /** Counts a call of `key`: 1 on the first. */
  attempt(key: string): number {
    const n = (this.attempts.get(key) ?? 0) + 1;
    this.attempts.set(key, n);
    return n;
  }

  /**
   * `hold`'s answer at `instance`: the first call of `key` never settles, a hung app (a pending
   * promise holds no handle, and the instance's sidecar, stopped first, closes the connection it
   * hangs on); a later call answers at once.
   */
  async hold(instance: string, key: string): Promise<{ instance: string; key: string; attempts: number }> {
    const attempts = this.attempt(key);
    if (attempts === 1) await new Promise<never>(() => undefined);
    return { instance, key, attempts };
  }
}

/** One instance of B: registers its methods on a DaprServer before it starts; `started` runs once it listens. */
export interface TargetInstance {
  register: (server: DaprServer) => Promise<void>;
  started?: (server: DaprServer) => void;
}

/** An app failure and how each face of sidecar 1 reports it. */
export interface TargetFailure {
  /** What `fail` gets in its body. */
  fail: number;
  /** The HTTP status and body the Dapr HTTP API answers with. */
  http: number;
  httpBody: string;
  /** The gRPC code and message InvokeService fails with. */
  grpc: number;
  grpcMessage: string;
}

export interface CrossTarget {
  protocol: Protocol;
  instance: (name: string, calls: TargetCalls) => TargetInstance;
  failures: TargetFailure[];
}

/** How a DaprClient call failed: the HTTP client's status and body, the gRPC client's code and message. */
export async function sdkFailure(call: Promise<unknown>): Promise<{ status?: number; code?: number; message: string; ms: number }> {
  const t0 = Date.now();
  try {
    await call;
  } catch (e) {
    const ms = Date.now() - t0;
    const err = e as { code?: unknown; rawMessage?: string; message: string };
    if (typeof err.code === 'number') return { code: err.code, message: err.rawMessage ?? err.message, ms };
    const http = JSON.parse(err.message) as { status: number; error_msg: string };
    return { status: http.status, message: http.error_msg, ms };
  }
  throw new Error('the call succeeded');
}

const FIVE_MB = 5 * 1024 * 1024;
export const ECHO_VERBS = ['GET', 'POST', 'PUT', 'DELETE', 'PATCH'] as const;

/**
 * The cross-sidecar cases against one kind of target app, for DaprClients over HTTP and gRPC on
 * sidecar 1: verbs, JSON and text bodies, 5 MB both ways, the caller's app id, query strings and
 * headers, failure statuses, sidecar 1's retry policy, unknown app ids, two instances of B sharing
 * calls, and B's sidecars stopped while a call is in flight. Runs inside the caller's describe.
 */
export function crossSidecarCases(target: CrossTarget): void {
  const calls = new TargetCalls();
  const clients = new SdkClients(() => caller);
  const client: Partial<Record<Protocol, DaprClient>> = {};
  const clientOf = (p: Protocol) => (client[p] ??= clients.of(p));
  const instances = new Map<string, SdkApp>();
  let caller: Sidecar;

  async function startInstance(name: string): Promise<SdkApp> {
    const inst = target.instance(name, calls);
    const app = await startSdkApp(target.protocol, TARGET_ID, inst.register);
    inst.started?.(app.server);
    instances.set(name, app);
    return app;
  }

  beforeAll(async () => {
    [caller] = await Promise.all([startSidecar({ appId: CALLER_ID, args: MAX_BODY_ARGS, resources: { 'resiliency.yaml': CALLER_RESILIENCY } }), startInstance('b1')]);
  });
  afterAll(async () => {
    await clients.stopAll();
    await Promise.all([...instances.values()].map((a) => a.stop()));
    await caller?.stop();
  });

  describe.each(['http', 'grpc'] as const)('DaprClient over %s on sidecar 1', (protocol) => {
    const invoke = (method: string, verb: string, body?: unknown) => clientOf(protocol).invoker.invoke(TARGET_ID, method, verb as HttpMethod, body as object);

    it('every verb reaches its handler with the JSON body intact; the app sees the caller app id', async () => {
      for (const verb of ECHO_VERBS) {
        const body = verb === 'GET' ? undefined : { verb, n: 1, s: 'héllo', nested: { list: [1, 2, 3] } };
        const res = (await invoke('echo', verb, body)) as { verb: string; received: unknown };
        expect(res.verb).toBe(verb);
        if (body) expect(res.received).toEqual(body);
        const seen = calls.last('echo');
        expect([seen.verb, seen.headers['dapr-caller-app-id'], seen.headers['dapr-callee-app-id']]).toEqual([verb, CALLER_ID, TARGET_ID]);
        if (body) expect(seen.contentType).toBe('application/json');
      }
    });

    it('a text body arrives as text/plain', async () => {
      const res = (await invoke('echo', 'POST', 'plain text, ünïcode')) as { received: unknown };
      expect(res.received).toBe('plain text, ünïcode');
      expect(calls.last('echo').contentType).toBe('text/plain');
    });

    it('a 5 MB body arrives intact and the 5 MB answer comes back', async () => {
      const big = randomBytes(FIVE_MB / 2).toString('hex');
      const res = (await invoke('big', 'POST', big)) as { length: number; sha256: string; echo: string };
      expect([res.length, res.sha256, sha256(res.echo)]).toEqual([big.length, sha256(big), sha256(big)]);
    });

    it("the app's failures come back as this face reports them, tried once (the policy retries only 500)", async () => {
      for (const f of target.failures) {
        const before = calls.of('fail').length;
        const got = await sdkFailure(invoke('fail', 'POST', { fail: f.fail }));
        if (protocol === 'http') expect([got.status, got.message]).toEqual([f.http, f.httpBody]);
        else expect([got.code, got.message]).toEqual([f.grpc, f.grpcMessage]);
        expect(calls.of('fail').length).toBe(before + 1);
      }
    });

    it("sidecar 1's retry policy for B: a method that fails its first call with 500 answers on the retry", async () => {
      const key = `flaky-${protocol}`;
      expect(await invoke('flaky', 'POST', { key })).toEqual({ key, attempts: 2 });
      expect(calls.withKey('flaky', key)).toHaveLength(2);
    });

    it('an unknown app id: ERR_DIRECT_INVOKE naming it, at once', async () => {
      const got = await sdkFailure(clientOf(protocol).invoker.invoke('nobody', 'echo', 'POST' as HttpMethod, {}));
      expect(got.ms).toBeLessThan(3000);
      if (protocol === 'http') {
        expect(got.status).toBe(500);
        expect(JSON.parse(got.message)).toEqual({ errorCode: 'ERR_DIRECT_INVOKE', message: 'failed to invoke, id: nobody, err: no host found with the given ID' });
      } else {
        expect([got.code, got.message]).toEqual([13, 'failed to invoke, id: nobody, err: no host found with the given ID']);
      }
    });
  });

  it('the HTTP client: the query string and custom headers reach the app', async () => {
    await clientOf('http').invoker.invoke(TARGET_ID, 'echo?x=1&y=two%20words', 'POST' as HttpMethod, { q: true }, { headers: { 'x-custom': 'yes' } });
    const seen = calls.last('echo');
    expect([seen.query, seen.headers['x-custom'], seen.headers['dapr-caller-app-id']]).toEqual(['x=1&y=two%20words', 'yes', CALLER_ID]);
  });

  it('two instances of B (two sidecars, two DaprServers) share the calls', async () => {
    await startInstance('b2');
    const before = calls.of('echo').length;
    for (let i = 0; i < 8; i++) await clientOf(i % 2 ? 'grpc' : 'http').invoker.invoke(TARGET_ID, 'echo', 'POST' as HttpMethod, { i });
    const by = (name: string) => calls.of('echo').slice(before).filter((c) => c.instance === name).length;
    expect([by('b1'), by('b2')]).toEqual([4, 4]);
  });

  /** Starts a `hold` call and resolves once an instance holds it, with that instance's name and the pending call. */
  async function held(protocol: Protocol, key: string): Promise<{ instance: string; call: Promise<unknown> }> {
    const call = clientOf(protocol).invoker.invoke(TARGET_ID, 'hold', 'POST' as HttpMethod, { key });
    call.catch(() => undefined);
    await until(() => calls.withKey('hold', key).length > 0, () => `the hold call ${key} at an instance of B`);
    return { instance: calls.withKey('hold', key)[0]!.instance, call };
  }

  it("B's sidecar stopped with a call in flight: sidecar 1's retry resolves B again and reaches the other instance", async () => {
    const { instance, call } = await held('http', 'k1');
    await instances.get(instance)!.sc.stop();
    const res = (await call) as { instance: string; attempts: number };
    expect(res.instance).not.toBe(instance);
    expect(res.attempts).toBe(2);
  });

  it("the last instance's sidecar stopped with a call in flight: a clear ERR_DIRECT_INVOKE, no hang; then no host for B at once", async () => {
    const { instance, call } = await held('grpc', 'k2');
    const t0 = Date.now();
    await instances.get(instance)!.sc.stop();
    const got = await sdkFailure(call);
    expect(Date.now() - t0).toBeLessThan(5000);
    expect(got.code).toBe(13);
    expect(got.message).toMatch(new RegExp(`^failed to invoke, id: ${TARGET_ID}, err: `));
    for (const p of ['http', 'grpc'] as const) {
      const after = await sdkFailure(clientOf(p).invoker.invoke(TARGET_ID, 'echo', 'POST' as HttpMethod, {}));
      expect(after.ms).toBeLessThan(3000);
      expect(after.message).toContain(`failed to invoke, id: ${TARGET_ID}, err: no host found with the given ID`);
    }
  });
}
