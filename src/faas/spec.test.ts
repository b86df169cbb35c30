// Function declarations as users write them: WasmFunction resources (--resources-path) and the
// `Layotto` stream filter of config.json, with the ports config.json sets and errors by file:line.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { loadResources, ManifestError } from '../runtime/loader';
import { parseLayottoConfig } from '../runtime/layotto-config';
import { declaredFunctions, functionPorts } from '../runtime/faas';

const log = pino({ level: 'silent' });

function load(yaml: string) {
  const d = mkdtempSync(join(tmpdir(), 'faas-spec-'));
  writeFileSync(join(d, 'fn.yaml'), yaml);
  return { dir: d, result: loadResources([d], log) };
}

const fn = (name: string, spec: string, extra = '') => `apiVersion: layotto.io/v1\nkind: WasmFunction\nmetadata:\n  name: ${name}\nspec:\n${spec}${extra}`;

describe('WasmFunction resources', () => {
  it('become FunctionSpecs with paths relative to the manifest, limits and config; scopes pick the app', () => {
    const { dir, result } = load(
      fn('order', '  path: build/order.wasm\n  instances: 2\n  timeout: 1500ms\n  memoryMiB: 16\n  config:\n    store: redis\n    retries: 3\n') +
        '---\n' +
        fn('inventory', '  path: /abs/inventory.wasm\n', 'scopes: [other-app]\n'),
    );
    expect(result.functions).toHaveLength(2);
    expect(declaredFunctions(result.functions, [], 'me')).toEqual([{ id: 'order', path: join(dir, 'build/order.wasm'), instances: 2, limits: { timeoutMs: 1500, memoryMiB: 16 }, config: { store: 'redis', retries: '3' } }]);
    expect(declaredFunctions(result.functions, [], 'other-app').map((f) => f.id)).toEqual(['order', 'inventory']);
    expect(() => declaredFunctions(result.functions, [{ id: 'order', path: '/x', instances: 1 }], 'me')).toThrow('function "order" is declared twice');
  });

  it('reports a bad declaration as file:line: field: reason', () => {
    const err = (yaml: string) => {
      try {
        load(yaml);
      } catch (e) {
        return (e as ManifestError).message.replace(/^.*fn\.yaml:/, '');
      }
      throw new Error('expected an error');
    };
    expect(err(fn('order', '  instances: 1\n'))).toBe('6: spec.path: expected the path of a .wasm file');
    expect(err(fn('order', '  path: a.wasm\n  timeout: soon\n'))).toBe('7: spec.timeout: expected a duration such as "5s" or milliseconds');
    expect(err(fn('order', '  path: a.wasm\n  memoryMiB: 99999\n'))).toBe('7: spec.memoryMiB: must be at most 4096 (a wasm32 memory is 4 GiB)');
    expect(err(fn('a.b', '  path: a.wasm\n'))).toMatch(/^4: metadata.name: must be letters/);
  });
});

describe("config.json's Layotto stream filter", () => {
  const config = (functionsListener: Record<string, unknown>) =>
    JSON.stringify({
      servers: [
        {
          listeners: [
            { name: 'grpc', address: '127.0.0.1:34904', filter_chains: [{ filters: [{ type: 'grpc', config: { server_name: 'runtime', grpc_config: {} } }] }] },
            { name: 'wasm', address: '127.0.0.1:2045', filter_chains: [{ filters: [{ type: 'proxy', config: {} }] }], ...functionsListener },
            { name: 'wasm_admin', address: '127.0.0.1:34998', filter_chains: [{ filters: [{ type: 'proxy', config: {} }] }], stream_filters: [{ type: 'wasm_filter' }] },
          ],
        },
      ],
    });

  it('declares its functions and sets the functions and admin ports unless the command line does', () => {
    const cfg = parseLayottoConfig(
      config({ stream_filters: [{ type: 'Layotto', config: { function1: { name: 'id_1', instance_num: 2, vm_config: { engine: 'wasmtime', path: 'demo/f1.wasm' }, greeting: 'hi' } } }] }),
      'config.json',
    );
    expect(cfg.faas).toEqual({
      functions: [{ id: 'id_1', path: join(process.cwd(), 'demo/f1.wasm'), instances: 2, config: { greeting: 'hi' } }],
      listener: { host: '127.0.0.1', port: 2045 },
      admin: { host: '127.0.0.1', port: 34998 },
    });
    expect(cfg.warnings).toEqual([]);
    const ctx = { declared: 1, listenAddresses: [] };
    expect(functionPorts({}, cfg.faas, ctx)).toEqual({ functions: { host: '127.0.0.1', port: 2045 }, admin: { host: '127.0.0.1', port: 34998 } });
    expect(functionPorts({ port: 0, adminPort: 7000, adminListenAddress: '0.0.0.0' }, cfg.faas, ctx)).toEqual({ functions: { host: '127.0.0.1', port: 0 }, admin: { host: '0.0.0.0', port: 7000 } });
  });

  it('points at the bad entry', () => {
    expect(() => parseLayottoConfig(config({ stream_filters: [{ type: 'Layotto', config: { f: { name: 'id_1', vm_config: {} } } }] }), 'config.json')).toThrow(
      /^config\.json:\d+: servers\[0\]\.listeners\[1\]\.stream_filters\[0\]\.config\.f\.vm_config\.path: /,
    );
  });
});

describe('function ports without config.json', () => {
  it('stay off unless a function is declared or a port is asked for', () => {
    const off = { port: 0, host: '127.0.0.1' };
    expect(functionPorts({}, undefined, { declared: 0, listenAddresses: ['127.0.0.1'] })).toEqual({ functions: off, admin: { port: 0, host: '127.0.0.1' } });
    expect(functionPorts({}, undefined, { declared: 2, listenAddresses: [] })).toEqual({ functions: { port: 2045, host: '0.0.0.0' }, admin: { port: 0, host: '127.0.0.1' } });
    expect(functionPorts({ adminPort: 34998 }, undefined, { declared: 0, listenAddresses: ['10.0.0.1'] }).functions).toEqual({ port: 2045, host: '10.0.0.1' });
    expect(functionPorts({ port: 0, adminPort: 34998 }, undefined, { declared: 1, listenAddresses: [] }).functions.port).toBe(0);
  });
});
