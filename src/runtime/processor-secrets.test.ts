// secretKeyRef resolution in the component pipeline, over real local.file / local.env stores.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { ComponentStore } from '../components/store';
import { loadResources } from './loader';
import { ComponentProcessor } from './processor';

const log = pino({ level: 'silent' });
const dir = mkdtempSync(join(tmpdir(), 'proc-secrets-'));
const SECRETS = join(dir, 'secrets.json');
writeFileSync(SECRETS, JSON.stringify({ greeting: 'hola', nested: { greeting: 'salut' } }));

async function run(files: Record<string, string>) {
  const d = mkdtempSync(join(dir, 'res-'));
  for (const [name, text] of Object.entries(files)) writeFileSync(join(d, name), text);
  const store = new ComponentStore();
  const p = new ComponentProcessor(store, { appId: 'app1', namespace: '', log });
  await p.applyAll(loadResources([d], log).components);
  return store;
}

const secretStore = (name: string) =>
  `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${name}\nspec:\n  type: secretstores.local.file\n  version: v1\n  metadata:\n  - {name: secretsFile, value: ${JSON.stringify(SECRETS)}}\n`;
const hello = (ref: string, store = 'vault') =>
  `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: h\nspec:\n  type: hello.helloworld\n  version: v1\n  metadata:\n  - name: hello\n    secretKeyRef: ${ref}\nauth:\n  secretStore: ${store}\n`;

const greet = async (store: ComponentStore) => (await store.get('hello', 'h')!.instance.hello({ name: 'x' })).hello;

describe('secretKeyRef resolution', () => {
  it('loads secret stores first, then resolves refs (key defaults to the name)', async () => {
    // "a.yaml" sorts before "z.yaml": the hello component comes first in the files but still resolves.
    const store = await run({ 'a.yaml': hello('{name: greeting}'), 'z.yaml': secretStore('vault') });
    expect(await greet(store)).toBe('hola, x');
  });

  it('resolves a flattened nested name with an explicit key', async () => {
    const store = await run({ 'a.yaml': hello('{name: "nested:greeting", key: "nested:greeting"}'), 'z.yaml': secretStore('vault') });
    expect(await greet(store)).toBe('salut, x');
  });

  it('a missing secret stops startup naming the metadata line', async () => {
    const e = await run({ 'a.yaml': hello('{name: nope}'), 'z.yaml': secretStore('vault') }).catch((x: Error) => x);
    expect((e as Error).message).toMatch(/a\.yaml:9: spec\.metadata\[0\]: secretKeyRef nope: secret nope not found/);
  });

  it('a key the secret lacks stops startup', async () => {
    const e = await run({ 'a.yaml': hello('{name: greeting, key: other}'), 'z.yaml': secretStore('vault') }).catch((x: Error) => x);
    expect((e as Error).message).toMatch(/a\.yaml:9: .*secret greeting in secret store vault has no key other/);
  });

  it('a ref to a secret store that is not loaded stops startup', async () => {
    const e = await run({ 'a.yaml': hello('{name: greeting}', 'ghost'), 'z.yaml': secretStore('vault') }).catch((x: Error) => x);
    expect((e as Error).message).toMatch(/a\.yaml:9: .*secret store ghost is not loaded/);
  });
});
