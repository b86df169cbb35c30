import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ComponentStore } from '../components/store';
import { loadResources, ManifestError } from './loader';
import { ComponentProcessor } from './processor';

const log = pino({ level: 'silent' });

async function run(yaml: string, opts: { appId?: string; env?: NodeJS.ProcessEnv } = {}) {
  const d = mkdtempSync(join(tmpdir(), 'proc-'));
  writeFileSync(join(d, 'c.yaml'), yaml);
  const store = new ComponentStore();
  const p = new ComponentProcessor(store, { appId: opts.appId ?? 'app1', namespace: '', log, env: opts.env });
  await p.applyAll(loadResources([d], log).components);
  return { store, p };
}

const comp = (name: string, type: string, extra = '', md = '') =>
  `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${name}\nspec:\n  type: ${type}\n  version: v1\n${extra}  metadata:\n${md || '  - {name: a, value: b}\n'}`;

describe('component processor', () => {
  it('creates, inits and stores components with capabilities', async () => {
    const { store, p } = await run(comp('s', 'state.in-memory', '', '  - {name: actorStateStore, value: "true"}\n'));
    const c = store.get('state', 's')!;
    expect(c.meta).toMatchObject({ name: 's', type: 'state.in-memory', version: 'v1', appId: 'app1' });
    expect(c.capabilities).toEqual(expect.arrayContaining(['ETAG', 'TRANSACTIONAL', 'TTL', 'ACTOR']));
    await p.closeAll();
    expect(store.count('state')).toBe(0);
  });

  it('honours scopes', async () => {
    const yaml = comp('s', 'state.in-memory') + 'scopes: [other]\n';
    expect((await run(yaml)).store.count('state')).toBe(0);
    expect((await run(yaml, { appId: 'other' })).store.count('state')).toBe(1);
  });

  it('resolves envRef', async () => {
    const { store } = await run(comp('h', 'hello.helloworld', '', '  - {name: hello, envRef: GREETING}\n'), { env: { GREETING: 'hi' } });
    expect(await store.get('hello', 'h')!.instance.hello({ name: 'x' })).toEqual({ hello: 'hi, x' });
  });

  it('names the file and line of an unknown component type', async () => {
    const e = await run(comp('s', 'state.nosuch')).catch((x) => x);
    expect(e).toBeInstanceOf(ManifestError);
    expect(e.message).toMatch(/c\.yaml:6: spec\.type: couldn't find component type state\.nosuch\/v1/);
  });

  it('refuses an unknown building block but skips ones that later issues add', async () => {
    await expect(run(comp('s', 'frobnicator.x'))).rejects.toThrow(/unknown building block/);
    expect((await run(comp('p', 'crypto.dapr.localstorage'))).store.list()).toHaveLength(0);
  });

  it('ignoreErrors lets startup continue past a failing component, and lists it as skipped with the reason', async () => {
    const { store, p } = await run(comp('s', 'state.nosuch', '  ignoreErrors: true\n') + '---\n' + comp('ok', 'state.in-memory'));
    expect(store.list().map((c) => c.name)).toEqual(['ok']);
    expect(p.skipped).toEqual([{ kind: 'state', name: 's', type: 'state.nosuch', reason: expect.stringMatching(/^couldn't find component type state\.nosuch\/v1/) }]);
  });

  it('ignoreErrors also covers an init that fails (backend down): skipped, not retried', async () => {
    const md = '  - {name: redisHost, value: "127.0.0.1:1"}\n  - {name: dialTimeout, value: 200ms}\n';
    const { store, p } = await run(comp('r', 'state.redis', '  ignoreErrors: true\n', md));
    expect(store.count('state')).toBe(0);
    expect(p.skipped).toEqual([{ kind: 'state', name: 'r', type: 'state.redis', reason: expect.stringMatching(/^component r \(state\.redis\/v1\) failed to initialize: .*127\.0\.0\.1:1/) }]);
  });

  it('without ignoreErrors an init that fails stops startup, naming the component and the backend', async () => {
    const md = '  - {name: redisHost, value: "127.0.0.1:1"}\n  - {name: dialTimeout, value: 200ms}\n';
    await expect(run(comp('r', 'state.redis', '', md))).rejects.toThrow(/c\.yaml:\d+: spec: component r \(state\.redis\/v1\) failed to initialize: .*error connecting to redis at 127\.0\.0\.1:1/);
  });

  it('refuses duplicate names of one kind', async () => {
    await expect(run(comp('s', 'state.in-memory') + '---\n' + comp('s', 'state.in-memory'))).rejects.toThrow(/already loaded/);
  });

  it('refuses a secretKeyRef without a secret store, naming the metadata line', async () => {
    const e = await run(comp('s', 'state.in-memory', '', '  - name: pw\n    secretKeyRef: {name: s, key: k}\n')).catch((x) => x);
    expect(e.message).toMatch(/c\.yaml:9: spec\.metadata\[0\]: secretKeyRef s needs a secret store/);
  });

  it('refuses a bad initTimeout', async () => {
    await expect(run(comp('s', 'state.in-memory', '  initTimeout: soon\n'))).rejects.toThrow(/spec\.initTimeout: invalid duration/);
  });
});
