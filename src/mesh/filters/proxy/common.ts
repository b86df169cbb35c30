// What the proxy filters share: reading their config (errors name the filter type and the field),
// where an exchange was routed, header values, and the filter that does nothing (a disabled
// feature: it applies to no API, so an otherwise empty chain keeps the proxy's fast path).
import type { z } from 'zod';
import { ComponentConfigError } from '../../../components/types';
import type { Exchange, Filter } from '../../filter';

export const PROXY_APIS = ['proxy'] as const;

/** Validates a filter's settings; a bad one throws `<type> config.<field>: <why>`. */
export function parseSettings<S extends z.ZodType>(type: string, schema: S, settings: Record<string, unknown>): z.infer<S> {
  const parsed = schema.safeParse(settings ?? {});
  if (parsed.success) return parsed.data;
  const issue = parsed.error.issues[0]!;
  const field = issue.path.join('.');
  throw new ComponentConfigError(`${type} config${field ? `.${field}` : ''}: ${issue.message}`, field || undefined);
}

/** The matched route's name ('' when none matched). */
export const routeOf = (ex: Exchange): string => ex.proxy?.route ?? ex.route;
export const clusterOf = (ex: Exchange): string => ex.proxy?.cluster ?? '';

/** A header's (first) value; names are lower-case in Exchange.headers. */
export function headerValue(ex: Pick<Exchange, 'headers'>, name: string): string | undefined {
  const v = ex.headers[name];
  return Array.isArray(v) ? v[0] : v;
}

/** A filter that applies to no API. */
export const inactive = (name: string): Filter => ({ name, apis: [] });
