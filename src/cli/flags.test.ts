import { buildCommand, parseFlags } from './flags';
import { parseQuantity } from '../components/quantity';

const parse = (args: string[]) => {
  const cmd = buildCommand().exitOverride().configureOutput({ writeErr: () => undefined, writeOut: () => undefined });
  return parseFlags(args, cmd);
};

describe('daprd flags', () => {
  it('has daprd defaults', () => {
    const f = parse([]);
    expect(f).toMatchObject({
      appId: '',
      appProtocol: 'http',
      daprHttpPort: 3500,
      daprGrpcPort: 50001,
      layottoGrpcPort: 34904,
      metricsPort: 9090,
      enableMetrics: true,
      logLevel: 'info',
      logAsJson: false,
      maxBodySize: 4 * 1024 * 1024,
      gracefulShutdownSeconds: 5,
      resourcesPaths: [],
    });
  });

  it("has Layotto's actuator on 127.0.0.1:34999, movable and 0 to turn it off", () => {
    expect(parse([]).actuator).toEqual({ port: 34999, listenAddress: '127.0.0.1' });
    expect(parse(['--actuator-port', '0', '--actuator-listen-address', '0.0.0.0']).actuator).toEqual({ port: 0, listenAddress: '0.0.0.0' });
  });

  it('accepts repeatable --resources-path and the --components-path alias', () => {
    const f = parse(['--resources-path', 'a', '--resources-path=b', '--components-path', 'c']);
    expect(f.resourcesPaths).toEqual(['a', 'b', 'c']);
  });

  it('parses ports, sizes and booleans', () => {
    const f = parse(['--app-id', 'x', '--dapr-http-port', '3600', '--max-body-size', '10Mi', '--log-as-json', '--layotto-grpc-port', '0', '--enable-metrics=false']);
    expect(f).toMatchObject({ appId: 'x', daprHttpPort: 3600, maxBodySize: 10 * 1024 * 1024, logAsJson: true, layottoGrpcPort: 0, enableMetrics: false });
  });

  it('honours the legacy --dapr-http-max-request-size (MB) unless --max-body-size is given', () => {
    expect(parse(['--dapr-http-max-request-size', '8']).maxBodySize).toBe(8 * 1024 * 1024);
    expect(parse(['--dapr-http-max-request-size', '8', '--max-body-size', '1Mi']).maxBodySize).toBe(1024 * 1024);
  });

  it('accepts daprd flags it does not act on yet and reports them', () => {
    const f = parse(['--placement-host-address', 'localhost:50005', '--enable-profiling']);
    expect(f.ignored).toEqual(['placement-host-address', 'enable-profiling']);
  });

  it('reads the mTLS and API TLS flags; --enable-mtls is tri-state', () => {
    expect(parse([]).mtls).toEqual({ enabled: undefined, trustAnchorsFile: undefined, certChainFile: undefined, certKeyFile: undefined });
    expect(parse(['--enable-mtls']).mtls.enabled).toBe(true);
    expect(parse(['--enable-mtls', 'false']).mtls.enabled).toBe(false);
    const f = parse(['--enable-mtls', '--trust-anchors-file', 'ca.pem', '--cert-chain-file', 'chain.pem', '--cert-key-file', 'key.pem', '--api-tls-cert-file', 'c.pem', '--api-tls-key-file', 'k.pem', '--api-tls-ca-file', 'ca2.pem']);
    expect(f.mtls).toEqual({ enabled: true, trustAnchorsFile: 'ca.pem', certChainFile: 'chain.pem', certKeyFile: 'key.pem' });
    expect(f.apiTls).toEqual({ certFile: 'c.pem', keyFile: 'k.pem', caFile: 'ca2.pem' });
    expect(f.ignored).toEqual([]);
  });

  it('reads the app health check flags in daprd units (interval s, timeout ms)', () => {
    expect(parse([]).appHealth).toEqual({ enabled: false, path: '/healthz', intervalMs: 5000, timeoutMs: 500, threshold: 3 });
    const f = parse(['--enable-app-health-check', '--app-health-check-path', '/ready', '--app-health-probe-interval', '2', '--app-health-probe-timeout', '300', '--app-health-threshold', '1']);
    expect(f.appHealth).toEqual({ enabled: true, path: '/ready', intervalMs: 2000, timeoutMs: 300, threshold: 1 });
    expect(f.ignored).toEqual([]);
  });

  it('reads the front-door limits: daprd read buffer (legacy KB form too), timeouts as durations, caps off by default', () => {
    expect(parse([]).limits).toEqual({ readBufferSize: 4096, readHeaderTimeoutMs: 10_000, readRequestTimeoutMs: 300_000, keepAliveTimeoutMs: 72_000, maxConnections: 0, maxConcurrentRequests: 0 });
    const f = parse(['--read-buffer-size', '16Ki', '--read-header-timeout', '500ms', '--read-request-timeout', '2s', '--keep-alive-timeout', '1m', '--max-connections', '100', '--max-concurrent-requests', '50']);
    expect(f.limits).toEqual({ readBufferSize: 16384, readHeaderTimeoutMs: 500, readRequestTimeoutMs: 2000, keepAliveTimeoutMs: 60_000, maxConnections: 100, maxConcurrentRequests: 50 });
    expect(f.ignored).toEqual([]);
    expect(parse(['--dapr-http-read-buffer-size', '16']).limits.readBufferSize).toBe(16384);
    expect(parse(['--dapr-http-read-buffer-size', '16', '--read-buffer-size', '8Ki']).limits.readBufferSize).toBe(8192);
    expect(parse(['--read-request-timeout', '0']).limits.readRequestTimeoutMs).toBe(0);
  });

  it.each([
    [['--read-header-timeout', '10s', '--read-request-timeout', '5s'], /must not be longer than --read-request-timeout/],
    [['--read-header-timeout', 'soon'], /invalid duration/],
    [['--max-connections', '-1'], /0 or a positive integer/],
    [['--read-buffer-size', 'big'], /invalid size/],
    [['--enable-app-health-check', '--app-health-probe-interval', '1', '--app-health-probe-timeout', '1500'], /probe timeouts must be smaller than probe intervals/],
    [['--app-health-threshold', '0'], /positive integer/],
    [['--dapr-http-port', 'abc'], /port number/],
    [['--dapr-http-port', '70000'], /port number/],
    [['--max-body-size', 'lots'], /invalid size/],
    [['--log-level', 'chatty'], /Allowed choices/],
    [['--app-protocol', 'ftp'], /Allowed choices/],
    [['--no-such-flag'], /unknown option/],
  ])('refuses %j', (args, msg) => {
    expect(() => parse(args)).toThrow(msg);
  });
});

describe('parseQuantity', () => {
  it.each([
    ['4Mi', 4194304],
    ['512Ki', 524288],
    ['10M', 10_000_000],
    ['1Gi', 1073741824],
    ['4096', 4096],
  ])('%s', (v, n) => expect(parseQuantity(v)).toBe(n));
  it('rejects junk', () => expect(() => parseQuantity('4 MB')).toThrow());
});
