// Client spans for component calls (a state get/set, a publish, an output binding...), so a trace
// shows app → sidecar → sidecar → component. The component instance is wrapped once, when it is
// added to the store and only with tracing on; each listed method then runs under a child span of
// the current API span (nothing is recorded outside a traced call).
import type { Attributes } from '@opentelemetry/api';
import type { Kind, KindMap, LiveComponent } from '../../components/store';
import { SpanKind, withChildSpan } from '../../core/trace';

/** The calls that reach the backing service, per kind. */
const TRACED: Partial<Record<Kind, readonly string[]>> = {
  state: ['get', 'set', 'delete', 'bulkGet', 'bulkSet', 'bulkDelete', 'multi', 'query'],
  pubsub: ['publish', 'bulkPublish'],
  bindings: ['invoke'],
  secretstores: ['getSecret', 'bulkGetSecret'],
  lock: ['tryLock', 'unlock', 'lockKeepAlive'],
  configuration: ['get', 'save', 'delete'],
  sequencer: ['getNextId', 'getSegment'],
  file: ['get', 'put', 'list', 'del', 'stat'],
};

/** daprd's building-block names for db.system (semconv for the data stores it fronts). */
const SYSTEM: Partial<Record<Kind, string>> = { state: 'state', bindings: 'bindings', secretstores: 'secrets' };

function attributesOf(c: LiveComponent, method: string, arg: unknown): Attributes {
  const attrs: Attributes = { 'dapr.component.name': c.name, 'dapr.component.type': c.meta.type, 'dapr.component.operation': method };
  if (c.kind === 'pubsub') {
    attrs['messaging.system'] = 'pubsub';
    const topic = (arg as { topic?: unknown } | undefined)?.topic;
    if (typeof topic === 'string') attrs['messaging.destination.name'] = topic;
  } else {
    attrs['db.system'] = SYSTEM[c.kind] ?? c.kind;
    attrs['db.name'] = c.name;
    attrs['db.operation'] = method;
  }
  return attrs;
}

/** The instance to keep in the store: itself when its kind has no traced calls. */
export function traceComponent<K extends Kind>(c: LiveComponent<K>): KindMap[K] {
  const methods = TRACED[c.kind];
  if (!methods) return c.instance;
  const target = c.instance as unknown as Record<string, unknown>;
  const wrapped = new Map<PropertyKey, unknown>();
  for (const m of methods) {
    const fn = target[m];
    if (typeof fn !== 'function') continue;
    const spanKind = c.kind === 'pubsub' ? SpanKind.PRODUCER : SpanKind.CLIENT;
    wrapped.set(m, (...args: unknown[]) =>
      withChildSpan(`${c.kind}/${c.name}/${m}`, spanKind, attributesOf(c as LiveComponent, m, args[0]), () => (fn as (...a: unknown[]) => Promise<unknown>).apply(target, args)),
    );
  }
  return new Proxy(target, {
    get(t, prop) {
      if (wrapped.has(prop)) return wrapped.get(prop);
      const v: unknown = Reflect.get(t, prop);
      // Other methods run on the instance itself (private fields need the real `this`).
      return typeof v === 'function' ? (v as (...a: unknown[]) => unknown).bind(t) : v;
    },
  }) as unknown as KindMap[K];
}
