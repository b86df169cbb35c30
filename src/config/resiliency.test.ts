import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadResources, ManifestError } from '../runtime/loader';
import { buildResiliency, compileResiliency } from './resiliency';

const log = pino({ level: 'silent' });

function dir(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'resiliency-'));
  for (const [n, c] of Object.entries(files)) writeFileSync(join(d, n), c);
  return d;
}

const resiliency = (name: string, spec: string, scopes?: string[]) =>
  `apiVersion: dapr.io/v1alpha1\nkind: Resiliency\nmetadata:\n  name: ${name}\n${scopes ? `scopes: [${scopes.join(', ')}]\n` : ''}spec:\n${spec}`;

const compile = (dirs: string[], appId = 'app1') => compileResiliency(loadResources(dirs, log).resiliencies, appId, log);

function loadError(spec: string): ManifestError {
  try {
    compile([dir({ 'r.yaml': resiliency('r', spec) })]);
  } catch (e) {
    if (e instanceof ManifestError) return e;
    throw e;
  }
  throw new Error('expected a ManifestError');
}

describe('Resiliency resources', () => {
  it('loads from every --resources-path, merges in order and applies daprd defaults', () => {
    const a = dir({
      'r.yaml': resiliency(
        'first',
        `  policies:
    timeouts:
      general: 5s
      quick: 250
      mixed: 1m30s
    retries:
      plain: {}
      fast:
        policy: constant
        duration: 100ms
        maxRetries: 2
    circuitBreakers:
      cb: {}
  targets:
    apps:
      app2: {timeout: general, retry: fast, circuitBreaker: cb}
`,
      ),
    });
    const b = dir({
      'r.yaml': resiliency(
        'second',
        `  policies:
    retries:
      fast:
        policy: exponential
        maxInterval: 2s
        maxRetries: 4
        matching:
          httpStatusCodes: "429,500-599"
          gRPCStatusCodes: "14"
  targets:
    components:
      statestore:
        outbound: {timeout: quick, retry: fast}
`,
      ),
    });
    const spec = compile([a, b]);
    expect([...spec.timeouts]).toEqual([['general', 5000], ['quick', 250], ['mixed', 90000]]);
    expect(spec.retries.get('plain')).toMatchObject({ policy: 'constant', durationMs: 5000, maxIntervalMs: 60000, maxRetries: -1, matching: {} });
    // The later resource's policy of the same name wins.
    expect(spec.retries.get('fast')).toMatchObject({ policy: 'exponential', maxIntervalMs: 2000, maxRetries: 4, matching: { http: [[429, 429], [500, 599]], grpc: [[14, 14]] } });
    expect(spec.circuitBreakers.get('cb')).toMatchObject({ maxRequests: 1, intervalMs: 0, timeoutMs: 60000, trip: 'consecutiveFailures > 5', consecutiveFailuresAbove: 5 });
    expect(spec.apps.get('app2')).toEqual({ timeout: 'general', retry: 'fast', circuitBreaker: 'cb', circuitBreakerCacheSize: 100 });
    expect(spec.components.get('statestore')).toEqual({ outbound: { timeout: 'quick', retry: 'fast', circuitBreaker: undefined }, inbound: { timeout: undefined, retry: undefined, circuitBreaker: undefined } });
    // daprd's built-in service retries are always there.
    expect(spec.retries.get('DaprBuiltInServiceRetries')).toMatchObject({ policy: 'constant', durationMs: 1000, maxRetries: 3 });
  });

  it('leaves out resources scoped to other apps', () => {
    const d = dir({
      'a.yaml': resiliency('mine', '  policies:\n    timeouts:\n      mine: 1s\n', ['app1']),
      'b.yaml': resiliency('theirs', '  policies:\n    timeouts:\n      theirs: 1s\n', ['app2']),
    });
    expect([...compile([d]).timeouts.keys()]).toEqual(['mine']);
    expect([...compile([d], 'app2').timeouts.keys()]).toEqual(['theirs']);
  });

  it('accepts an empty spec and a built-in override, raising a built-in below its minimum to 3', () => {
    expect(compile([dir({ 'r.yaml': resiliency('r', '  {}\n') })]).timeouts.size).toBe(0);
    const spec = compile([dir({ 'r.yaml': resiliency('r', '  policies:\n    retries:\n      DaprBuiltInServiceRetries: {policy: constant, duration: 10ms, maxRetries: 1}\n') })]);
    expect(spec.retries.get('DaprBuiltInServiceRetries')).toMatchObject({ durationMs: 10, maxRetries: 3 });
  });

  it('compiles any CEL trip expression over the breaker counters', () => {
    const spec = compile([dir({ 'r.yaml': resiliency('r', '  policies:\n    circuitBreakers:\n      ratio:\n        trip: "requests >= 4 && double(totalFailures) / double(requests) > 0.5"\n        interval: 10s\n') })]);
    const cb = spec.circuitBreakers.get('ratio')!;
    expect(cb.consecutiveFailuresAbove).toBeUndefined();
    expect(cb.intervalMs).toBe(10000);
    const counts = { requests: 4, totalSuccesses: 1, totalFailures: 3, consecutiveSuccesses: 0, consecutiveFailures: 2 };
    expect(cb.evaluate(counts)).toBe(true);
    expect(cb.evaluate({ ...counts, totalFailures: 2 })).toBe(false);
  });

  it.each([
    ['a duration', '  policies:\n    timeouts:\n      t: 5 seconds\n', 'spec.policies.timeouts.t', 3, /invalid duration "5 seconds"/],
    ['a retry policy type', '  policies:\n    retries:\n      r:\n        policy: linear\n', 'spec.policies.retries.r.policy', 4, /unexpected back off policy type "linear"/],
    ['maxRetries', '  policies:\n    retries:\n      r:\n        maxRetries: -2\n', 'spec.policies.retries.r.maxRetries', 4, /must be -1/],
    ['a status code range', '  policies:\n    retries:\n      r:\n        matching:\n          httpStatusCodes: "500-99"\n', 'spec.policies.retries.r.matching.httpStatusCodes', 5, /invalid status code pattern "500-99"/],
    ['a gRPC code', '  policies:\n    retries:\n      r:\n        matching:\n          gRPCStatusCodes: "17"\n', 'spec.policies.retries.r.matching.gRPCStatusCodes', 5, /within 0-16/],
    ['a trip syntax error', '  policies:\n    circuitBreakers:\n      cb:\n        trip: "consecutiveFailures >"\n', 'spec.policies.circuitBreakers.cb.trip', 4, /invalid trip expression "consecutiveFailures >".*consecutiveFailures > 5/],
    ['a trip on an unknown counter', '  policies:\n    circuitBreakers:\n      cb:\n        trip: "failures > 3"\n', 'spec.policies.circuitBreakers.cb.trip', 4, /Unknown variable: failures/],
    ['a trip that is not a condition', '  policies:\n    circuitBreakers:\n      cb:\n        trip: "consecutiveFailures + 1"\n', 'spec.policies.circuitBreakers.cb.trip', 4, /yields int, not bool/],
    ['an unknown policy name', '  policies:\n    retries:\n      r: {}\n  targets:\n    components:\n      statestore:\n        outbound:\n          retry: typo\n', 'spec.targets.components.statestore.outbound.retry', 8, /retry policy "typo" is not defined in spec.policies.retries/],
    ['an unknown breaker on an app', '  targets:\n    apps:\n      app2:\n        circuitBreaker: nope\n', 'spec.targets.apps.app2.circuitBreaker', 4, /circuit breaker policy "nope" is not defined in spec.policies.circuitBreakers/],
    ['a malformed policies block', '  policies:\n    timeouts: [5s]\n', 'spec.policies.timeouts', 2, /expected record/],
  ])('names file, line and field for %s', (_what, spec, field, line, message) => {
    const e = loadError(spec);
    expect(e.file).toMatch(/r\.yaml$/);
    expect(e.field).toBe(field);
    // `line` counts the lines under `spec:`, which is the document's fifth.
    expect(e.line).toBe(5 + line);
    expect(e.message).toMatch(message);
  });

  it('resolves a policy another resource defines', () => {
    const d = dir({
      'a.yaml': resiliency('policies', '  policies:\n    timeouts:\n      shared: 1s\n'),
      'b.yaml': resiliency('targets', '  targets:\n    apps:\n      app2:\n        timeout: shared\n'),
    });
    expect(compile([d]).apps.get('app2')?.timeout).toBe('shared');
  });

  it('builds a provider that reports the policies of a target', () => {
    const loaded = loadResources([dir({ 'r.yaml': resiliency('r', '  policies:\n    timeouts:\n      DefaultTimeoutPolicy: 1s\n    retries:\n      DefaultStatestoreComponentOutboundRetryPolicy: {}\n') })], log);
    const provider = buildResiliency(loaded.resiliencies, 'app1', log);
    expect(provider.policiesFor({ component: 'statestore', direction: 'Outbound', kind: 'state' })).toEqual({ timeout: 'DefaultTimeoutPolicy', retry: 'DefaultStatestoreComponentOutboundRetryPolicy', circuitBreaker: undefined });
    expect(provider.policiesFor({ component: 'pubsub', direction: 'Outbound', kind: 'pubsub' })).toEqual({ timeout: 'DefaultTimeoutPolicy', retry: undefined, circuitBreaker: undefined });
  });
});
