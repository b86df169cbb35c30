import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadResources, ManifestError } from './loader';

const log = pino({ level: 'silent' });

function dir(files: Record<string, string>): string {
  const d = mkdtempSync(join(tmpdir(), 'loader-'));
  for (const [n, c] of Object.entries(files)) writeFileSync(join(d, n), c);
  return d;
}

const comp = (name: string, type = 'state.in-memory') =>
  `apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: ${name}\nspec:\n  type: ${type}\n  version: v1\n  metadata:\n  - name: n\n    value: 1\n`;

function loadError(files: Record<string, string>): ManifestError {
  try {
    loadResources([dir(files)], log);
  } catch (e) {
    if (e instanceof ManifestError) return e;
    throw e;
  }
  throw new Error('expected a ManifestError');
}

describe('resource loader', () => {
  it('reads .yaml and .yml files in name order, several documents each, skipping other files and kinds', () => {
    const d = dir({
      'b.yaml': comp('two') + '---\n' + comp('three'),
      'a.yml': comp('one'),
      'c.yaml': 'apiVersion: dapr.io/v1alpha1\nkind: Resiliency\nmetadata:\n  name: s\nspec: {}\n',
      'notes.txt': 'not yaml',
      'empty.yaml': '---\n',
    });
    const res = loadResources([d], log);
    expect(res.components.map((c) => c.manifest.metadata.name)).toEqual(['one', 'two', 'three']);
    expect(res.components[2]!.line).toBe(11);
    expect(res.resiliencies.map((r) => [r.manifest.metadata.name, r.line])).toEqual([['s', 1]]);
  });

  it('stringifies scalar metadata values as daprd does', () => {
    const res = loadResources([dir({ 'a.yaml': comp('one') })], log);
    expect(res.components[0]!.manifest.spec.metadata).toEqual([{ name: 'n', value: '1' }]);
  });

  it('names file, line and field for a YAML syntax error', () => {
    const e = loadError({ 'bad.yaml': 'apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: [oops\n' });
    expect(e.file).toMatch(/bad\.yaml$/);
    expect(e.message).toMatch(/YAML syntax error/);
    expect(e.line).toBeGreaterThanOrEqual(4);
  });

  it('names the line and field of a schema error', () => {
    const e = loadError({ 'a.yaml': comp('one') + '---\napiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: two\nspec:\n  type: nodot\n' });
    expect(e.field).toBe('spec.type');
    expect(e.line).toBe(17);
  });

  it('reports a missing field at its parent', () => {
    const e = loadError({ 'a.yaml': 'apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: x\n' });
    expect(e.field).toBe('spec');
  });

  it('refuses invalid names and unknown kinds', () => {
    expect(loadError({ 'a.yaml': comp('bad name') }).field).toBe('metadata.name');
    expect(loadError({ 'a.yaml': 'apiVersion: v1\nkind: Pod\n' }).field).toBe('kind');
  });

  it('keeps going past a broken manifest that sets ignoreErrors', () => {
    const res = loadResources([dir({ 'a.yaml': 'apiVersion: dapr.io/v1alpha1\nkind: Component\nmetadata:\n  name: x\nspec:\n  ignoreErrors: true\n---\n' + comp('ok') })], log);
    expect(res.components.map((c) => c.manifest.metadata.name)).toEqual(['ok']);
    expect(res.ignored).toHaveLength(1);
  });

  it('refuses a missing resources path', () => {
    expect(() => loadResources(['/nonexistent/dir'], log)).toThrow(/does not exist/);
  });
});
