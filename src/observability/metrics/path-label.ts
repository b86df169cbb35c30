// The method and path labels of the HTTP server families, bounded whatever the client sends:
// the path is a configured pathMatching pattern, else (increasedCardinality, daprd's default) the
// route template the request matched, or "_" when none did; never the concrete URL.
import type { Exchange } from '../../mesh/filter';

export interface HttpLabelOptions {
  /** metrics.http.increasedCardinality (default true). */
  increasedCardinality: boolean;
  /** metrics.http.pathMatching: Go ServeMux patterns such as "/orders/{orderID}". */
  pathMatching: readonly string[];
  /** metrics.http.excludeVerbs: the method label is '' instead of the verb. */
  excludeVerbs: boolean;
}

/** daprd's placeholder for a path no pattern matched. */
export const UNMATCHED_PATH = '_';

interface Pattern {
  label: string;
  re: RegExp;
  /** Literal characters: the more, the more specific (ServeMux picks the most specific). */
  weight: number;
}

/** A ServeMux pattern ("[METHOD ]/a/{id}/b", "/files/{rest...}", "/prefix/") as a matcher. */
export function compilePattern(pattern: string): Pattern {
  const path = pattern.replace(/^[A-Z]+\s+/, '');
  let weight = 0;
  const parts = path.split('/').map((seg, i, all) => {
    const wild = /^\{([^}]*)\}$/.exec(seg);
    if (!wild) {
      weight += seg.length;
      return seg.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
    }
    if (wild[1]!.endsWith('...') && i === all.length - 1) return '.*';
    return wild[1] === '$' ? '' : '[^/]+';
  });
  // A trailing slash matches the whole subtree, as in ServeMux.
  const source = path.endsWith('/') ? `^${parts.join('/')}.*$` : `^${parts.join('/')}$`;
  return { label: pattern, re: new RegExp(source), weight };
}

export class HttpLabeler {
  private readonly patterns: Pattern[];
  /** Whether the families carry a path label at all (decided once: label sets are fixed). */
  readonly hasPath: boolean;

  constructor(private readonly opts: HttpLabelOptions) {
    this.patterns = opts.pathMatching.map(compilePattern).sort((a, b) => b.weight - a.weight);
    this.hasPath = opts.increasedCardinality || this.patterns.length > 0;
  }

  /** The pattern a concrete path matches, if any. */
  match(path: string): string | undefined {
    return this.patterns.find((p) => p.re.test(path))?.label;
  }

  labels(ex: Pick<Exchange, 'verb' | 'route' | 'path'> & { operation?: string }): { method: string; path?: string } {
    const verb = this.opts.excludeVerbs ? '' : ex.verb;
    if (this.opts.increasedCardinality) return { method: verb, path: this.match(ex.path) ?? (ex.route || UNMATCHED_PATH) };
    // Low cardinality: the method is the API operation's name (GetState), the path only a match.
    const method = ex.operation ?? verb;
    return this.hasPath ? { method, path: this.match(ex.path) ?? '' } : { method };
  }
}
