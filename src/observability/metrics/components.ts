// Component metrics (daprd's component_monitoring): the processor wraps every live component so
// each call into it is counted and timed per operation, with no change to the core or the
// components. Deliveries from a component (pub/sub ingress, input bindings) are timed around the
// handler the core registers.
import type { Kind } from '../../components/store';
import { MetricsRegistry } from './registry';

/** What the processor records through; NO_COMPONENT_METRICS when metrics are off. */
export interface ComponentMetrics {
  /** Wraps a component instance so its calls are recorded; returns the instance itself when off. */
  instrument<T extends object>(kind: Kind, component: string, instance: T): T;
  componentLoaded(type: string): void;
  componentInitFailed(type: string, name: string, reason: 'creation' | 'init'): void;
}

export const NO_COMPONENT_METRICS: ComponentMetrics = {
  instrument: (_k, _c, instance) => instance,
  componentLoaded: () => {},
  componentInitFailed: () => {},
};

type Family = 'state' | 'secret' | 'configuration' | 'output_binding';
/** Method name -> daprd's operation label, per component kind (its diag constants). */
const OPERATIONS: Partial<Record<Kind, { family: Family; ops: Record<string, string | ((args: unknown[]) => string)> }>> = {
  state: { family: 'state', ops: { get: 'get', set: 'set', delete: 'delete', bulkGet: 'bulk_get', bulkSet: 'set', bulkDelete: 'bulk_delete', multi: 'transaction', query: 'query' } },
  secretstores: { family: 'secret', ops: { getSecret: 'get', bulkGetSecret: 'bulk_get' } },
  configuration: { family: 'configuration', ops: { get: 'get', subscribe: 'subscribe', unsubscribe: 'unsubscribe' } },
  bindings: { family: 'output_binding', ops: { invoke: (args) => String((args[0] as { operation?: string } | undefined)?.operation ?? '') } },
};

export class PrometheusComponentMetrics implements ComponentMetrics {
  constructor(private readonly m: MetricsRegistry) {}

  componentLoaded(type: string): void {
    this.m.runtime.loaded.inc({ app_id: this.m.appId });
    this.m.runtime.init.inc({ app_id: this.m.appId, component: type });
  }

  componentInitFailed(type: string, name: string, reason: 'creation' | 'init'): void {
    this.m.runtime.initFail.inc({ app_id: this.m.appId, component: type, reason, componentName: name });
  }

  instrument<T extends object>(kind: Kind, component: string, instance: T): T {
    const calls = OPERATIONS[kind];
    const wrapped = new Map<PropertyKey, unknown>();
    const base = { app_id: this.m.appId, component, namespace: this.m.namespace };
    const timed = (fn: (...a: unknown[]) => unknown, target: object, record: (ok: boolean, ms: number, args: unknown[]) => void) =>
      (...args: unknown[]) => {
        const start = process.hrtime.bigint();
        const done = (ok: boolean) => record(ok, MetricsRegistry.msSince(start), args);
        try {
          const r = fn.apply(target, args);
          if (r instanceof Promise) return r.then((v) => (done(true), v), (e: unknown) => (done(false), Promise.reject(e)));
          done(true);
          return r;
        } catch (e) {
          done(false);
          throw e;
        }
      };
    const wrapperFor = (target: T, prop: PropertyKey, fn: (...a: unknown[]) => unknown): ((...a: unknown[]) => unknown) | undefined => {
      if (kind === 'pubsub' && prop === 'publish') {
        return timed(fn, target, (ok, ms, args) => {
          const labels = { ...base, success: String(ok), topic: String((args[0] as { topic?: string })?.topic ?? '') };
          this.m.pubsub.egressCount.inc(labels);
          this.m.pubsub.egressLatency.observe(labels, ms);
        });
      }
      if (kind === 'pubsub' && prop === 'subscribe') return (req, handler) => fn.call(target, req, this.ingress(base, handler as (msg: { topic: string }) => Promise<void>));
      if (kind === 'bindings' && prop === 'read') return (handler) => fn.call(target, this.inputBinding(base, handler as (ev: unknown) => Promise<unknown>));
      const op = calls?.ops[prop as string];
      if (op === undefined) return undefined;
      const family = this.m.component[calls!.family];
      return timed(fn, target, (ok, ms, args) => {
        const labels = { ...base, operation: typeof op === 'function' ? op(args) : op, success: String(ok) };
        family.count.inc(labels);
        family.latency.observe(labels, ms);
      });
    };
    return new Proxy(instance, {
      get(target, prop, receiver) {
        const value = Reflect.get(target, prop, receiver);
        if (typeof value !== 'function') return value;
        if (!wrapped.has(prop)) wrapped.set(prop, wrapperFor(target, prop, value as (...a: unknown[]) => unknown) ?? null);
        return wrapped.get(prop) ?? value;
      },
    });
  }

  /** Resolving the handler acks (success); throwing asks the broker to redeliver (retry). */
  private ingress(base: Record<string, string>, handler: (msg: { topic: string }) => Promise<void>) {
    return async (msg: { topic: string }) => {
      const start = process.hrtime.bigint();
      let status = 'retry';
      try {
        await handler(msg);
        status = 'success';
      } finally {
        const labels = { ...base, process_status: status, topic: msg.topic };
        this.m.pubsub.ingressCount.inc(labels);
        this.m.pubsub.ingressLatency.observe(labels, MetricsRegistry.msSince(start));
      }
    };
  }

  private inputBinding(base: Record<string, string>, handler: (ev: unknown) => Promise<unknown>) {
    return async (ev: unknown) => {
      const start = process.hrtime.bigint();
      let ok = false;
      try {
        const r = await handler(ev);
        ok = true;
        return r;
      } finally {
        const labels = { ...base, success: String(ok) };
        this.m.pubsub.inputCount.inc(labels);
        this.m.pubsub.inputLatency.observe(labels, MetricsRegistry.msSince(start));
      }
    };
  }
}
