// The watcher and the per-file reader on a real directory: a burst of edits is one callback,
// editors' atomic saves and files outside the resources are handled, and a file that does not
// parse keeps its resources while another file's change is read.
import { mkdtempSync, renameSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { until } from '../../../test/wait';
import { loadResources } from '../loader';
import { ResourceReader } from './resources';
import { watchResources } from './watcher';

const component = (name: string, type = 'state.in-memory') => `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${name}\nspec:\n  type: ${type}\n  version: v1\n`;
const silent = pino({ level: 'silent' });

describe('watchResources', () => {
  it('reports a burst of edits once, atomic saves included; other files are ignored', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'hr-watch-'));
    const calls: string[][] = [];
    const w = watchResources({ dirs: [dir], files: [] }, (paths) => calls.push(paths.map((p) => p.slice(dir.length + 1)).sort()), (e) => { throw e; }, 150);
    await w.ready;
    try {
      writeFileSync(join(dir, 'a.yaml'), component('a'));
      writeFileSync(join(dir, 'b.yml'), component('b'));
      writeFileSync(join(dir, 'notes.txt'), 'not a resource');
      await until(() => calls.length > 0, () => 'a callback');
      await new Promise((r) => setTimeout(r, 400));
      expect(calls).toEqual([['a.yaml', 'b.yml']]);
      // An editor's save: written beside, renamed over.
      writeFileSync(join(dir, '.a.yaml.swp'), component('a2'));
      renameSync(join(dir, '.a.yaml.swp'), join(dir, 'a.yaml'));
      await until(() => calls.length > 1, () => 'a callback for the atomic save');
      expect(calls[1]).toEqual(['a.yaml']);
    } finally {
      await w.close();
    }
  });
});

describe('ResourceReader', () => {
  it('a file that does not parse keeps its resources; the other files are read again', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hr-read-'));
    writeFileSync(join(dir, 'a.yaml'), component('a'));
    writeFileSync(join(dir, 'b.yaml'), component('b'));
    const lines: string[] = [];
    const log = pino({ level: 'info' }, { write: (s: string) => void lines.push(JSON.parse(s).msg) });
    const loaded = loadResources([dir], silent);
    const reader = new ResourceReader({ resourcesPaths: [dir], configFiles: [] }, { loaded, configuration: { secrets: { scopes: [] } } }, log);
    writeFileSync(join(dir, 'a.yaml'), 'kind: Component\nmetadata: [\n');
    writeFileSync(join(dir, 'b.yaml'), component('b', 'state.redis'));
    writeFileSync(join(dir, 'c.yaml'), component('c'));
    const next = reader.read().loaded.components.map((c) => `${c.manifest.metadata.name} ${c.manifest.spec.type}`);
    expect(next).toEqual(['a state.in-memory', 'b state.redis', 'c state.in-memory']);
    expect(lines).toEqual([expect.stringMatching(/^hot reload: invalid resource, not applied: .*a\.yaml:\d+: YAML syntax error: .*; the resources of .*a\.yaml stay as they were$/)]);
  });
});
