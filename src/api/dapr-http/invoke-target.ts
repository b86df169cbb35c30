// Where an HTTP request is meant to go, read as daprd's findTargetIDAndMethod reads it, in order:
// the dapr-app-id header (the path is the method), HTTP Basic auth with user dapr-app-id (the
// password is the app id), or /v1.0/invoke/<app id>/method/<method>. The raw path is used, so the
// method keeps its percent-encoding and a URL-encoded target (http%3A%2F%2Fhost) stays one segment.
import { posix } from 'node:path';
import type { IncomingHttpHeaders } from 'node:http';

export interface InvokeTarget {
  appId: string;
  /** Without a leading slash; percent-encoding as sent. */
  method: string;
}

const APP_ID_HEADER = 'dapr-app-id';

const first = (v: string | string[] | undefined): string => (Array.isArray(v) ? (v[0] ?? '') : (v ?? ''));

/** path.Clean that keeps one trailing slash (daprd's cleanPathPreserveTrailingSlash), leading '/' removed. */
const methodFromPath = (path: string): string => posix.normalize(`/${path}`).replace(/^\/+/, '');

/** Go's url.QueryUnescape; undefined when the text is not valid escaping. */
function queryUnescape(s: string): string | undefined {
  try {
    return decodeURIComponent(s.replace(/\+/g, ' '));
  } catch {
    return undefined;
  }
}

export function findTarget(rawPath: string, headers: IncomingHttpHeaders): InvokeTarget | undefined {
  const header = first(headers[APP_ID_HEADER]);
  if (header) return { appId: header, method: methodFromPath(rawPath) };

  const auth = first(headers.authorization);
  if (auth.startsWith('Basic ')) {
    const pair = Buffer.from(auth.slice(6), 'base64').toString('utf8').split(':');
    if (pair.length === 2 && pair[0]!.toLowerCase() === APP_ID_HEADER && pair[1]) return { appId: pair[1], method: methodFromPath(rawPath) };
  }

  // /v1.0/invoke/ (any number of slashes between the parts), then <target>/method/<method>.
  const m = /^\/*v1\.0\/+invoke\/+(.*)$/s.exec(rawPath);
  if (!m) return undefined;
  const rest = m[1]!;
  const at = rest.indexOf('/method/');
  if (at <= 0) return undefined;
  const target = rest.slice(0, at);
  return { appId: queryUnescape(target) || target, method: rest.slice(at + '/method/'.length) };
}
