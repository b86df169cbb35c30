// The instances of one installed module: calls go to a free instance or wait in a FIFO queue;
// an instance that faulted or timed out is replaced by a fresh one; drain() lets calls in flight and
// queued calls finish before the workers stop (update and uninstall).
import type { Logger } from 'pino';
import { FunctionError, type FunctionRequest, type FunctionResponse } from '../types';
import { Instance, type InstanceOptions } from './instance';

interface Waiter {
  req: FunctionRequest;
  resolve: (r: FunctionResponse) => void;
  reject: (e: Error) => void;
  timer: NodeJS.Timeout;
}

export class Pool {
  private readonly instances = new Set<Instance>();
  private readonly queue: Waiter[] = [];
  private closing = false;
  private drained?: () => void;

  constructor(
    readonly size: number,
    private readonly timeoutMs: number,
    private readonly opts: InstanceOptions,
    private readonly log?: Logger,
  ) {}

  /** Starts every instance; rejects (stopping those that started) if any fails or declares another id. */
  async start(expectedId: string, path: string): Promise<void> {
    const started = Array.from({ length: this.size }, () => this.spawn());
    try {
      const ids = await Promise.all(started.map((i) => i.ready));
      if (ids[0] !== expectedId) {
        throw new FunctionError('load', `${path} declares function id "${ids[0]}" (proxy_get_id), not "${expectedId}"`);
      }
    } catch (e) {
      await this.stop();
      throw e;
    }
  }

  call(req: FunctionRequest): Promise<FunctionResponse> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => {
        this.queue.splice(this.queue.indexOf(waiter), 1);
        reject(new FunctionError('busy', `no instance of function ${this.opts.name} was free within ${this.timeoutMs} ms`));
      }, this.timeoutMs);
      const waiter: Waiter = { req, resolve, reject, timer };
      this.queue.push(waiter);
      this.dispatch();
    });
  }

  /** Waits for queued and running calls to finish, then stops the workers. */
  async drain(): Promise<void> {
    this.closing = true;
    if (this.queue.length > 0 || [...this.instances].some((i) => i.busy)) {
      await new Promise<void>((resolve) => (this.drained = resolve));
    }
    await this.stop();
  }

  /** Stops the workers now; queued calls fail. */
  async stop(): Promise<void> {
    this.closing = true;
    this.failQueue('not_found', `function ${this.opts.name} was removed`);
    await Promise.all([...this.instances].map((i) => i.terminate()));
    this.instances.clear();
  }

  private spawn(): Instance {
    const inst = new Instance(this.opts);
    this.instances.add(inst);
    // Calls queued while it starts go to it once it is up.
    inst.ready.then(
      () => this.dispatch(),
      () => undefined,
    );
    inst.whenDead(() => {
      this.instances.delete(inst);
      if (this.closing) return this.checkDrained();
      if (!inst.started) {
        // It never came up (a failed start or restart): replacing it again would loop.
        if (this.instances.size === 0) this.failQueue('load', `function ${this.opts.name} has no instance left`);
        return;
      }
      this.log?.warn({ function: this.opts.name }, 'function instance replaced');
      this.spawn().ready.catch((e: Error) => this.log?.error({ function: this.opts.name, err: e.message }, 'function instance failed to restart'));
    });
    return inst;
  }

  private dispatch(): void {
    for (const inst of this.instances) {
      if (this.queue.length === 0) break;
      if (inst.busy || inst.dead) continue;
      if (!inst.started) continue;
      const w = this.queue.shift()!;
      clearTimeout(w.timer);
      inst.call(w.req, this.timeoutMs).then(w.resolve, w.reject).finally(() => {
        this.dispatch();
        this.checkDrained();
      });
    }
  }

  private failQueue(kind: FunctionError['kind'], message: string): void {
    for (const w of this.queue.splice(0)) {
      clearTimeout(w.timer);
      w.reject(new FunctionError(kind, message));
    }
  }

  private checkDrained(): void {
    // Draining with every instance gone (all faulted): nothing will serve the queue.
    if (this.drained && this.instances.size === 0) this.failQueue('not_found', `function ${this.opts.name} was removed`);
    if (!this.drained || this.queue.length > 0 || [...this.instances].some((i) => i.busy)) return;
    const done = this.drained;
    this.drained = undefined;
    done();
  }
}
