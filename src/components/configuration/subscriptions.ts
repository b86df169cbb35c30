// Subscription bookkeeping shared by the stores: ids, key filters, and handler calls that never
// throw into the store (a failing handler is the subscriber's problem, as in contrib).
import { randomUUID } from 'node:crypto';
import type { ConfigurationHandler, ConfigurationItem } from './types';

export interface Subscription {
  id: string;
  /** Empty = all keys. */
  keys: ReadonlySet<string>;
  group: string;
  label: string;
  handler: ConfigurationHandler;
  onError?: (e: Error) => void;
}

export class Subscriptions {
  private readonly byId = new Map<string, Subscription>();

  add(s: Omit<Subscription, 'id'>): Subscription {
    const sub = { ...s, id: randomUUID() };
    this.byId.set(sub.id, sub);
    return sub;
  }

  remove(id: string): Subscription {
    const s = this.byId.get(id);
    if (!s) throw new Error(`subscription with id ${id} does not exist`);
    this.byId.delete(id);
    return s;
  }

  all(): Subscription[] {
    return [...this.byId.values()];
  }

  /** Ends every subscription with `reason` (the store is closing or lost its backend). */
  fail(reason: string): void {
    const all = this.all();
    this.byId.clear();
    for (const s of all) {
      try {
        s.onError?.(new Error(reason));
      } catch {
        // The subscriber's cleanup must not stop the others'.
      }
    }
  }

  /** Delivers each changed item to the subscriptions that watch it. */
  notify(items: ConfigurationItem[], group: string, label: string): void {
    for (const s of this.byId.values()) {
      if (s.group !== group || s.label !== label) continue;
      const mine = s.keys.size === 0 ? items : items.filter((i) => s.keys.has(i.key));
      if (mine.length > 0) deliver(s, mine);
    }
  }
}

export function deliver(s: Subscription, items: ConfigurationItem[]): void {
  try {
    void Promise.resolve(s.handler({ id: s.id, items })).catch(() => undefined);
  } catch {
    // A synchronous throw from the handler must not break the store's loop either.
  }
}
