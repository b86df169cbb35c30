// How Go's net/http spells what the http binding reports: canonical header keys (the response
// metadata keys daprd passes back) and client errors (the text inside ERR_INVOKE_OUTPUT_BINDING).

const TOKEN = /^[!#$%&'*+\-.^_`|~0-9A-Za-z]+$/;

/** textproto.CanonicalMIMEHeaderKey: "content-type" → "Content-Type"; keys with odd bytes stay as they are. */
export function canonicalHeaderKey(key: string): string {
  if (!TOKEN.test(key)) return key;
  return key.toLowerCase().replace(/(^|-)([a-z])/g, (_m, sep: string, c: string) => sep + c.toUpperCase());
}

interface NodeNetError {
  code?: string;
  address?: string;
  port?: number;
  hostname?: string;
  name?: string;
  message?: string;
  cause?: unknown;
}

/** The cause as Go's dialer and transport word it, else Node's own message. */
function reason(e: NodeNetError): string {
  const at = e.address !== undefined ? `${e.address.includes(':') ? `[${e.address}]` : e.address}:${e.port ?? ''}` : '';
  switch (e.code) {
    case 'ECONNREFUSED':
      return `dial tcp ${at}: connect: connection refused`;
    case 'ENOTFOUND':
      return `dial tcp: lookup ${e.hostname ?? ''}: no such host`;
    case 'ECONNRESET':
    case 'UND_ERR_SOCKET':
      return 'connection reset by peer';
    case 'UND_ERR_CONNECT_TIMEOUT':
      return `dial tcp ${at}: i/o timeout`;
    default:
      if (e.name === 'AbortError' || e.name === 'TimeoutError' || e.code === 'ABORT_ERR') return 'context deadline exceeded';
      if (e.cause && typeof e.cause === 'object') return reason(e.cause as NodeNetError);
      return e.message ?? String(e);
  }
}

/** url.Error's text: `Post "http://host/path": dial tcp ...: connect: connection refused`. */
export function goRequestError(method: string, url: string, e: unknown): string {
  const op = method.charAt(0) + method.slice(1).toLowerCase();
  return `${op} "${url}": ${reason((e ?? {}) as NodeNetError)}`;
}
