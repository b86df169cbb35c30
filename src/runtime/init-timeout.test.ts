import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { registries } from '../components/builtin';
import { ComponentStore } from '../components/store';
import type { StateStore } from '../components/state/types';
import { loadResources } from './loader';
import { ComponentProcessor } from './processor';

// A store whose init never finishes, registered for this test only.
let closed = 0;
registries.state.register('never-ready-test', () => ({
  init: () => new Promise<void>(() => undefined),
  close: async () => void closed++,
  features: () => [],
  get: async () => undefined,
  set: async () => undefined,
  delete: async () => undefined,
}) as StateStore);

it('spec.initTimeout bounds init, closes the half-made component and names it', async () => {
  const d = mkdtempSync(join(tmpdir(), 'timeout-'));
  writeFileSync(join(d, 'c.yaml'), 'apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: slow\nspec:\n  type: state.never-ready-test\n  version: v1\n  initTimeout: 200ms\n');
  const log = pino({ level: 'silent' });
  const store = new ComponentStore();
  const started = Date.now();
  const err = await new ComponentProcessor(store, { appId: 'a', namespace: '', log }).applyAll(loadResources([d], log).components).catch((e) => e);
  expect(err.message).toMatch(/c\.yaml:\d+: spec: component slow \(state\.never-ready-test\/v1\) failed to initialize: init did not finish within 200ms/);
  expect(Date.now() - started).toBeLessThan(5000);
  expect(closed).toBe(1);
  expect(store.count('state')).toBe(0);
});
