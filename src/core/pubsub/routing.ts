// Routing rules (daprd's v2 subscriptions): each rule's `match` is a CEL expression over one
// variable, `event` (the CloudEvent); the first rule that holds wins, an empty match always holds,
// and `defaultRoute` takes what none matched. Expressions compile once, when the subscription starts.
import { parse } from '@marcbachmann/cel-js';

export interface Rule {
  match: string;
  path: string;
}

type Compiled = { path: string; test: (event: Record<string, unknown>) => boolean };

export class RouteError extends Error {}

export class Router {
  private readonly rules: Compiled[];

  /** Throws RouteError for an expression that does not parse. */
  constructor(rules: Rule[], private readonly defaultRoute = '') {
    this.rules = rules.map((r) => ({ path: r.path, test: compile(r.match) }));
  }

  /** The path for an event, or undefined when nothing matches (the event is then dropped). */
  route(event: Record<string, unknown>): string | undefined {
    for (const r of this.rules) if (r.test(event)) return r.path;
    return this.defaultRoute || undefined;
  }
}

function compile(match: string): Compiled['test'] {
  if (match.trim() === '') return () => true;
  let fn: (ctx: Record<string, unknown>) => unknown;
  try {
    fn = parse(match) as (ctx: Record<string, unknown>) => unknown;
  } catch (e) {
    throw new RouteError(`invalid routing rule match "${match}": ${(e as Error).message.split('\n')[0]}`);
  }
  // An expression that fails on this event (a missing field) does not match it.
  return (event) => {
    try {
      return fn({ event }) === true;
    } catch {
      return false;
    }
  };
}
