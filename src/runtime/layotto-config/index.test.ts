import { parseFlags } from '../../cli/flags';
import { ManifestError } from '../loader';
import { jsonPath, parseLayottoConfig, withLayottoConfig } from './index';

/** A config.json with grpc_config at servers[0].listeners[0].filter_chains[0].filters[0].config. */
function config(grpcConfig: unknown, listener: Record<string, unknown> = {}, top: Record<string, unknown> = {}): string {
  const runtime = {
    name: 'grpc',
    address: '127.0.0.1:34904',
    bind_port: true,
    filter_chains: [{ filters: [{ type: 'grpc', config: { server_name: 'runtime', grpc_config: grpcConfig } }] }],
    ...listener,
  };
  const actuator = { name: 'actuator', address: '127.0.0.1:34999', filter_chains: [{ filters: [{ type: 'proxy', config: {} }] }], stream_filters: [{ type: 'actuator_filter' }] };
  return JSON.stringify({ servers: [{ default_log_path: 'stdout', listeners: [runtime, actuator] }], ...top }, null, 2);
}

const GRPC = 'servers[0].listeners[0].filter_chains[0].filters[0].config.grpc_config';
const parse = (text: string) => parseLayottoConfig(text, 'config.json');
const errorOf = (text: string): ManifestError => {
  try {
    parse(text);
  } catch (e) {
    return e as ManifestError;
  }
  throw new Error('expected an error');
};

describe("Layotto's config.json", () => {
  it('turns each grpc_config entry into a Component of the matching kind, named by its key', () => {
    const cfg = parse(
      config({
        hellos: { quick_start_demo: { type: 'helloworld', hello: 'greeting' } },
        state: { state_demo: { type: 'redis', metadata: { redisHost: 'localhost:6379', redisDB: 2, enableTLS: false } } },
        lock: { lock_demo: { type: 'in-memory', metadata: {} } },
        pub_subs: { pub_subs_demo: { type: 'in-memory', metadata: { consumerID: '1' } } },
        sequencer: { seq: { type: 'redis', biggerThan: { order: 1000 }, metadata: { redisHost: 'localhost:6379' } } },
        config_store: { conf: { type: 'etcd', address: ['127.0.0.1:2379', '127.0.0.1:2380'], timeout: '10' } },
        secret_store: { secret_demo: { type: 'local.file', metadata: { secretsFile: 's.json' } }, env: { type: 'local.env' } },
        bindings: { b: { type: 'http', metadata: { url: 'http://x' } } },
        file: { files: { type: 'local', metadata: { rootPath: '/srv/files' } } },
        app: { app_id: 'app1', grpc_callback_port: 9999 },
      }),
    );
    const rows = cfg.components.map((c) => [c.manifest.metadata.name, c.manifest.spec.type, Object.fromEntries(c.manifest.spec.metadata.map((m) => [m.name, m.value]))]);
    expect(rows).toEqual([
      ['quick_start_demo', 'hello.helloworld', { hello: 'greeting' }],
      ['state_demo', 'state.redis', { redisHost: 'localhost:6379', redisDB: '2', enableTLS: 'false' }],
      ['lock_demo', 'lock.in-memory', {}],
      ['pub_subs_demo', 'pubsub.in-memory', { consumerID: '1' }],
      ['seq', 'sequencer.redis', { redisHost: 'localhost:6379', 'biggerThan.order': '1000' }],
      ['conf', 'configuration.etcd', { endpoints: '127.0.0.1:2379;127.0.0.1:2380', dialTimeout: '10' }],
      ['secret_demo', 'secretstores.local.file', { secretsFile: 's.json' }],
      ['env', 'secretstores.local.env', {}],
      ['b', 'bindings.http', { url: 'http://x' }],
      ['files', 'file.local', { rootPath: '/srv/files' }],
    ]);
    expect(cfg.listener).toEqual({ host: '127.0.0.1', port: 34904 });
    expect(cfg.app).toEqual({ appId: 'app1', port: 9999, host: '127.0.0.1' });
    expect(cfg.warnings).toEqual([]);
    expect(cfg.notes).toEqual(['servers[0].listeners[1]: listener "actuator" is not served (only the runtime gRPC listener is)']);
  });

  it('points pipeline errors at the JSON lines of type and metadata', () => {
    const text = config({ state: { s: { type: 'nope', metadata: { a: '1', b: '2' } } } });
    const [c] = parse(text).components;
    const lines = text.split('\n');
    expect(lines[c!.lineOf(['spec', 'type']) - 1]).toContain('"type": "nope"');
    expect(lines[c!.lineOf(['spec', 'metadata', 1]) - 1]).toContain('"b": "2"');
    expect(lines[c!.line - 1]).toContain('"s": {');
  });

  it('turns secret_ref into secretKeyRef items on one secret store', () => {
    const [c] = parse(
      config({
        sequencer: {
          redis: { type: 'redis', metadata: { redisHost: 'h:1' }, secret_ref: [{ store_name: 'local.file', key: 'db-user-pass:password', sub_key: 'db-user-pass:password', inject_as: 'redisPassword' }] },
        },
      }),
    ).components;
    expect(c!.manifest.auth).toEqual({ secretStore: 'local.file' });
    expect(c!.manifest.spec.metadata[1]).toEqual({ name: 'redisPassword', secretKeyRef: { name: 'db-user-pass:password', key: 'db-user-pass:password' } });
  });

  it('takes the key as the type when an entry has none (early Layotto configs)', () => {
    expect(parse(config({ hellos: { helloworld: { hello: 'hi' } } })).components[0]!.manifest.spec.type).toBe('hello.helloworld');
  });

  it('warns once per unknown or unsupported part, naming its JSON path, and keeps going', () => {
    const cfg = parse(
      config(
        { config_stores: { etcd: {} }, oss: { f: { type: 'aws' } }, state: { s: { type: 'in-memory', colour: 'red' } } },
        { stream_filters: [{ type: 'flowControlFilter', config: { global_switch: true } }, { type: 'grpc_metric' }, { type: 'gzip' }] },
        { tracing: { enable: true }, surprise: 1 },
      ),
    );
    expect(cfg.warnings.map((w) => w.replace(/^config\.json:\d+: /, ''))).toEqual([
      'surprise: unknown key; ignored',
      'servers[0].listeners[0].stream_filters[2].type: stream filter "gzip" is not supported; ignored',
      `${GRPC}.config_stores: unknown section; ignored (known: hellos, config_store, pub_subs, state, lock, sequencer, secret_store, bindings, file, app)`,
      `${GRPC}.oss: the "oss" API is not supported yet; its components are not loaded`,
      `${GRPC}.state.s.colour: unknown key; ignored`,
    ]);
    expect(cfg.notes).toContain('tracing: MOSN setting not acted on by layotto-ts');
    expect(cfg.streamFilters).toEqual([
      { type: 'flowControlFilter', config: { global_switch: true } },
      { type: 'grpc_metric', config: undefined },
      { type: 'gzip', config: undefined },
    ]);
  });

  it('rejects a wrong shape with the JSON path and its line', () => {
    const text = config({ state: { redis: { type: 'redis', metadata: 'redisHost=x' } } });
    const e = errorOf(text);
    expect(e).toBeInstanceOf(ManifestError);
    expect(e.field).toBe(`${GRPC}.state.redis.metadata`);
    expect(e.message).toBe(`config.json:${e.line}: ${GRPC}.state.redis.metadata: expected an object`);
    expect(text.split('\n')[e.line - 1]).toContain('"metadata": "redisHost=x"');
    expect(errorOf(config({ lock: { l: { type: 'redis', metadata: { redisHost: ['a'] } } } })).field).toBe(`${GRPC}.lock.l.metadata.redisHost`);
    expect(errorOf(config({ app: { grpc_callback_port: '9999' } })).message).toContain(`${GRPC}.app.grpc_callback_port: expected a port number`);
    expect(errorOf(config({ state: [] })).field).toBe(`${GRPC}.state`);
    expect(errorOf(config({}, { address: 'nowhere' })).message).toContain('servers[0].listeners[0].address: expected "host:port", got "nowhere"');
  });

  it('rejects bad JSON with its line, and a config without the runtime filter', () => {
    const e = errorOf('{\n  "servers": [\n    {,}\n  ]\n}');
    expect(e.message).toMatch(/^config\.json:3: invalid JSON: /);
    // A mistake V8 reports without a position: the line comes from the yaml parser.
    expect(errorOf('{\n  "servers": [\n    { "listeners": [ }\n  ]\n}\n').message).toBe("config.json:3: invalid JSON: Unexpected token '}'");
    expect(errorOf('{"servers": []}').message).toBe('config.json:1: servers: needs at least one server');
    expect(errorOf(JSON.stringify({ servers: [{ listeners: [] }] })).message).toContain('servers: no listener has a "grpc" filter with "server_name": "runtime"');
  });

  it('formats JSON paths', () => {
    expect(jsonPath(['servers', 0, 'listeners', 1, 'address'])).toBe('servers[0].listeners[1].address');
  });

  it('sets app id, gRPC app channel and the Layotto port unless given on the command line', () => {
    const cfg = parse(config({ app: { app_id: 'app1', grpc_callback_port: 9999, grpc_callback_host: '10.0.0.2' } }, { address: '0.0.0.0:35000' }));
    const fromFile = withLayottoConfig(parseFlags(['start', '-c', 'config.json']), cfg);
    expect(fromFile).toMatchObject({ appId: 'app1', appPort: 9999, appProtocol: 'grpc', appChannelAddress: '10.0.0.2', layottoGrpcPort: 35000 });
    const cli = withLayottoConfig(parseFlags(['start', '--config-file', 'config.json', '--app-id', 'mine', '--layotto-grpc-port', '1234', '--app-port', '80', '--app-protocol', 'http']), cfg);
    expect(cli).toMatchObject({ appId: 'mine', appPort: 80, appProtocol: 'http', layottoGrpcPort: 1234, layottoConfig: { file: 'config.json' } });
    expect(withLayottoConfig(parseFlags([]), parse(config({ app: { app_id: 'a', grpc_callback_port: 0 } }))).appPort).toBeUndefined();
  });

  it('reads $RUNTIME_CONFIG or configs/config.json for a bare `start`, nothing without it', () => {
    const before = process.env.RUNTIME_CONFIG;
    delete process.env.RUNTIME_CONFIG;
    try {
      expect(parseFlags(['start']).layottoConfig?.file).toBe('configs/config.json');
      process.env.RUNTIME_CONFIG = '/etc/layotto.json';
      expect(parseFlags(['start']).layottoConfig?.file).toBe('/etc/layotto.json');
      expect(parseFlags([]).layottoConfig).toBeUndefined();
    } finally {
      if (before === undefined) delete process.env.RUNTIME_CONFIG;
      else process.env.RUNTIME_CONFIG = before;
    }
  });
});
