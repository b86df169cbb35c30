// Transport security, decided and loaded once at startup: TLS on the public APIs and mTLS between
// sidecars. Any bad file or missing piece is a startup error naming it.
import type { Flags } from '../cli/flags';
import { type Mtls, loadMtls } from './mtls';
import { TlsConfigError } from './pem';
import { formatSpiffeId } from './spiffe';
import { type ApiTls, loadApiTls } from './tls';

export interface TransportSecurity {
  /** TLS on the Dapr HTTP/gRPC and Layotto gRPC APIs. */
  api?: ApiTls;
  /** Mutual TLS between sidecars. */
  mtls?: Mtls;
  /** Settings given but not acted on, to log as warnings. */
  warnings: string[];
  /** What is on, to log at startup. */
  notes: string[];
}

const MTLS_FLAGS = [['trustAnchorsFile', '--trust-anchors-file'], ['certChainFile', '--cert-chain-file'], ['certKeyFile', '--cert-key-file']] as const;
const MTLS_ENV = ['DAPR_TRUST_ANCHORS', 'DAPR_TRUST_ANCHORS_FILE', 'DAPR_CERT_CHAIN', 'DAPR_CERT_KEY'];

export function loadTransportSecurity(flags: Pick<Flags, 'appId' | 'mtls' | 'apiTls'>, o: { configMtls?: boolean; namespace: string; env: NodeJS.ProcessEnv }): TransportSecurity {
  const warnings: string[] = [];
  const api = loadApiTls(flags.apiTls);
  const { enabled, ...files } = flags.mtls;
  // daprd goes by --enable-mtls alone (its injector sets it from the Configuration); standalone, spec.mtls.enabled also turns it on.
  if (!(enabled ?? o.configMtls ?? false)) {
    const given = [...MTLS_FLAGS.filter(([k]) => files[k]).map(([, flag]) => flag), ...MTLS_ENV.filter((k) => o.env[k])];
    if (given.length > 0) warnings.push(`mTLS is off (neither --enable-mtls nor Configuration spec.mtls.enabled): ignoring ${given.join(', ')}; calls between sidecars are not encrypted`);
    return { ...(api ? { api } : {}), warnings, notes: apiNotes(api) };
  }
  if (!flags.appId) throw new TlsConfigError('mTLS needs --app-id: the workload certificate names the app (spiffe://<trust domain>/ns/<namespace>/<app id>)');
  const mtls = loadMtls({ ...files, env: o.env }, { appId: flags.appId, namespace: o.namespace });
  return { ...(api ? { api } : {}), mtls, warnings, notes: [...apiNotes(api), `mTLS is enabled between sidecars; this sidecar is ${formatSpiffeId(mtls.identity)}`] };
}

const apiNotes = (api: ApiTls | undefined): string[] =>
  api ? [`TLS is enabled on the Dapr HTTP/gRPC and Layotto gRPC APIs${api.ca ? '; clients must present a certificate' : ''}`] : [];
