// The main-thread side of one function instance: starts its worker, runs one call at a time on it
// with a wall-time limit, and serves the worker's host calls (the other end of the bridge).
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { MessageChannel, Worker } from 'node:worker_threads';
import { FunctionError, type FunctionRequest, type FunctionResponse, type HostServices } from '../types';
import type { BridgeReply, BridgeRequest, FromWorker, ToWorker, WorkerInit } from './messages';

export interface InstanceOptions {
  name: string;
  module: WebAssembly.Module;
  bytes: SharedArrayBuffer;
  maxPages: number;
  importedMemory?: { initial: number; maximum?: number };
  pluginConfig: Uint8Array;
  services: HostServices;
}

// dist/ runs the compiled worker.js; under jest (sources only) the worker loads worker.ts through tsx.
const COMPILED = join(__dirname, 'worker.js');
function spawn(workerData: WorkerInit, transferList: Array<import('node:worker_threads').MessagePort>): Worker {
  const opts = { workerData, transferList, resourceLimits: { maxOldGenerationSizeMb: 256 } };
  if (existsSync(COMPILED)) return new Worker(COMPILED, opts);
  const load = [require.resolve('tsx/cjs'), join(__dirname, 'worker.ts')].map((p) => `require(${JSON.stringify(p)});`);
  return new Worker(load.join(' '), { ...opts, eval: true });
}

type Pending = { seq: number; resolve: (r: FunctionResponse) => void; reject: (e: Error) => void; timer: NodeJS.Timeout };

export class Instance {
  /** Resolves with the id the module declared through proxy_get_id. */
  readonly ready: Promise<string>;
  busy = false;
  /** True once the guest is instantiated and has named its id. */
  started = false;
  /** Set once the worker is gone or must not be reused (fault, timeout, termination). */
  dead = false;
  private readonly worker: Worker;
  private pending?: Pending;
  private seq = 0;
  private onDeath?: () => void;

  constructor(private readonly opts: InstanceOptions) {
    const signal = new SharedArrayBuffer(4);
    const flag = new Int32Array(signal);
    const { port1, port2 } = new MessageChannel();
    port1.on('message', (m: BridgeRequest) => void this.serve(m, port1, flag));
    port1.unref();
    this.worker = spawn(
      { module: opts.module, bytes: opts.bytes, name: opts.name, maxPages: opts.maxPages, importedMemory: opts.importedMemory, pluginConfig: opts.pluginConfig, signal, bridge: port2 },
      [port2],
    );
    this.ready = new Promise((resolve, reject) => {
      this.worker.on('message', (m: FromWorker) => {
        if (m.type === 'ready') resolve(m.id);
        else if (m.type === 'load-error') {
          reject(new FunctionError('load', m.message));
          this.terminate();
        } else this.onMessage(m);
      });
      this.worker.on('error', (e) => {
        reject(new FunctionError('load', e.message));
        this.fail(e.message.includes('memory') || (e as NodeJS.ErrnoException).code === 'ERR_WORKER_OUT_OF_MEMORY' ? 'memory' : 'trap', e.message);
      });
      this.worker.on('exit', () => {
        reject(new FunctionError('load', 'the function instance exited while starting'));
        this.fail('trap', 'the function instance exited');
      });
    });
    this.ready.then(
      () => (this.started = true),
      () => undefined,
    );
  }

  /** Called once when this instance can no longer take calls, so its pool replaces it. */
  whenDead(fn: () => void): void {
    this.onDeath = fn;
  }

  call(req: FunctionRequest, timeoutMs: number): Promise<FunctionResponse> {
    this.busy = true;
    const seq = ++this.seq;
    return new Promise<FunctionResponse>((resolve, reject) => {
      const timer = setTimeout(() => {
        this.fail('timeout', `function ${this.opts.name} ran longer than ${timeoutMs} ms`);
      }, timeoutMs);
      this.pending = { seq, resolve, reject, timer };
      const body = new Uint8Array(req.body);
      const msg: ToWorker = { type: 'call', seq, req: { method: req.method, path: req.path, headers: req.headers, body } };
      this.worker.postMessage(msg, [body.buffer]);
    }).finally(() => {
      this.busy = false;
    });
  }

  /** Stops the worker; a call still running on it fails (the function was removed or closed). */
  terminate(): Promise<void> {
    const p = this.pending;
    this.settle();
    p?.reject(new FunctionError('not_found', `function ${this.opts.name} was stopped`));
    this.markDead();
    return this.worker.terminate().then(() => undefined);
  }

  private onMessage(m: FromWorker): void {
    if (m.type === 'log') return this.opts.services.log(this.opts.name, m.level, m.message);
    const p = this.pending;
    if (m.type === 'result' && p?.seq === m.seq) {
      this.settle();
      p.resolve({ status: m.status, headers: m.headers, body: Buffer.from(m.body.buffer, m.body.byteOffset, m.body.byteLength) });
    } else if (m.type === 'fault' && p?.seq === m.seq) {
      // The guest's state may be corrupt after a trap: never reuse this instance.
      this.fail(m.kind, `function ${this.opts.name}: ${m.message}`);
    }
  }

  private settle(): void {
    if (this.pending) clearTimeout(this.pending.timer);
    this.pending = undefined;
  }

  private fail(kind: FunctionError['kind'], message: string): void {
    const p = this.pending;
    this.settle();
    if (!this.dead) void this.terminate();
    p?.reject(new FunctionError(kind, message));
  }

  private markDead(): void {
    if (this.dead) return;
    this.dead = true;
    this.onDeath?.();
  }

  private async serve(m: BridgeRequest, port: import('node:worker_threads').MessagePort, flag: Int32Array): Promise<void> {
    let reply: BridgeReply;
    try {
      reply = { ok: true, value: await this.run(m) };
    } catch (e) {
      const message = e instanceof Error ? e.message : String(e);
      this.opts.services.log(this.opts.name, 4, `${m.op} failed: ${message}`);
      reply = { ok: false, message };
    }
    port.postMessage(reply);
    Atomics.store(flag, 0, 1);
    Atomics.notify(flag, 0);
  }

  private run({ op, args }: BridgeRequest): Promise<unknown> {
    const s = this.opts.services;
    const str = (i: number) => String(args[i]);
    const buf = (i: number) => {
      const u = args[i] as Uint8Array;
      return Buffer.from(u.buffer, u.byteOffset, u.byteLength);
    };
    switch (op) {
      case 'getState':
        return s.getState(str(0), str(1));
      case 'invoke':
        return s.invoke(str(0), str(1), buf(2));
      case 'saveState':
        return s.saveState(str(0), str(1), buf(2));
      case 'publish':
        return s.publish(str(0), str(1), buf(2), str(3));
      case 'tryLock':
        return s.tryLock(str(0), str(1), str(2), Number(args[3]));
      case 'unlock':
        return s.unlock(str(0), str(1), str(2));
      case 'nextId':
        return s.nextId(str(0), str(1));
    }
  }
}
