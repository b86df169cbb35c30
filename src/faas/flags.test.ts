// The function flags (README "Functions (WebAssembly)"): every port off unless asked.
import { parseFlags } from '../cli/flags';

describe('function flags', () => {
  it('keep every function port off unless asked', () => {
    expect(parseFlags([]).faas).toEqual({ port: undefined, listenAddress: undefined, adminPort: undefined, adminListenAddress: undefined });
    expect(parseFlags(['--faas-port', '0', '--faas-admin-port', '34998', '--faas-admin-listen-address', '0.0.0.0']).faas).toEqual({ port: 0, listenAddress: undefined, adminPort: 34998, adminListenAddress: '0.0.0.0' });
  });
});
