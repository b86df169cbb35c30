// SPIFFE identities as daprd's Sentry issues them: spiffe://<trustDomain>/ns/<namespace>/<appId>,
// carried as the one URI SAN of a workload certificate (an X509-SVID). Sidecars name each other by
// them: a caller checks the callee's path, a callee learns who calls.

/** Who a workload certificate says its holder is. */
export interface SpiffeId {
  trustDomain: string;
  namespace: string;
  appId: string;
}

// SPIFFE spec: trust domains are lower-case letters, digits, '.', '-', '_'; path segments also
// allow upper case, and are never '.' or '..'.
const TRUST_DOMAIN = /^[a-z0-9._-]+$/;
const SEGMENT = /^[A-Za-z0-9._-]+$/;

/** spiffe://td/ns/<ns>/<app> → its parts; why it is not one otherwise. */
export function parseSpiffeId(uri: string): SpiffeId | string {
  if (!uri.startsWith('spiffe://')) return `"${uri}" is not a SPIFFE ID (spiffe://<trust domain>/ns/<namespace>/<app id>)`;
  const rest = uri.slice('spiffe://'.length);
  const slash = rest.indexOf('/');
  const trustDomain = slash < 0 ? rest : rest.slice(0, slash);
  if (!TRUST_DOMAIN.test(trustDomain)) return `"${uri}" has an invalid trust domain`;
  const segments = slash < 0 ? [] : rest.slice(slash + 1).split('/');
  if (segments.length !== 3 || segments[0] !== 'ns' || !segments.every((s) => SEGMENT.test(s) && s !== '.' && s !== '..')) {
    return `"${uri}" is not a Dapr workload ID (spiffe://<trust domain>/ns/<namespace>/<app id>)`;
  }
  return { trustDomain, namespace: segments[1]!, appId: segments[2]! };
}

export function formatSpiffeId(id: SpiffeId): string {
  return `spiffe://${id.trustDomain}/ns/${id.namespace}/${id.appId}`;
}

/**
 * The SPIFFE ID in a certificate's subjectAltName text (node's "URI:spiffe://…, DNS:…" form, as
 * PeerCertificate.subjectaltname and X509Certificate.subjectAltName give it). An X509-SVID has
 * exactly one URI SAN; anything else is a reason string.
 */
export function spiffeIdFromSan(san: string | undefined): SpiffeId | string {
  const uris = (san ?? '')
    .split(', ')
    .filter((e) => e.startsWith('URI:'))
    // node quotes a value holding separators; no valid SPIFFE ID needs quoting, but read it right.
    .map((e) => (e.startsWith('URI:"') ? (JSON.parse(e.slice(4)) as string) : e.slice(4)));
  if (uris.length === 0) return 'the certificate has no SPIFFE ID (no URI subject alternative name)';
  if (uris.length > 1) return `the certificate has ${uris.length} URI subject alternative names; a SPIFFE certificate has one`;
  return parseSpiffeId(uris[0]!);
}

/** Namespace in SPIFFE IDs: daprd's CurrentNamespace() reads "default" when NAMESPACE is unset. */
export const spiffeNamespace = (namespace: string): string => namespace || 'default';
