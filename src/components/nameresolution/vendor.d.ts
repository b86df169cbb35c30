// The few typings name resolution needs from better-sqlite3 and multicast-dns (neither ships its
// own; only the calls used here are declared).

declare module 'better-sqlite3' {
  interface RunResult {
    changes: number;
  }
  interface Statement {
    run(...params: unknown[]): RunResult;
    get(...params: unknown[]): unknown;
    all(...params: unknown[]): unknown[];
    /** Rows become their first column's value. */
    pluck(on?: boolean): this;
  }
  interface Options {
    /** ms to wait on a locked database (SQLite's busy timeout). */
    timeout?: number;
  }
  class Database {
    constructor(filename: string, options?: Options);
    prepare(sql: string): Statement;
    exec(sql: string): this;
    pragma(sql: string): unknown;
    transaction<F extends (...args: never[]) => unknown>(fn: F): F & { immediate: F; exclusive: F };
    close(): void;
    readonly open: boolean;
  }
  export = Database;
}

declare module 'multicast-dns' {
  import type { EventEmitter } from 'node:events';
  import type { RemoteInfo } from 'node:dgram';

  namespace mdns {
    interface Question {
      name: string;
      type: string;
      class?: string;
    }
    interface Answer {
      name: string;
      type: string;
      class?: string;
      ttl?: number;
      flush?: boolean;
      data: unknown;
    }
    interface Packet {
      type?: 'query' | 'response';
      id?: number;
      flags?: number;
      questions?: Question[];
      answers?: Answer[];
      authorities?: Answer[];
      additionals?: Answer[];
    }
    interface Options {
      port?: number;
      type?: 'udp4' | 'udp6';
      ip?: string;
      interface?: string;
      bind?: string | false;
      multicast?: boolean;
      loopback?: boolean;
      reuseAddr?: boolean;
      ttl?: number;
    }
    interface MulticastDns extends EventEmitter {
      query(packet: Packet, cb?: (err: Error | null) => void): void;
      respond(packet: Packet, cb?: (err: Error | null) => void): void;
      respond(packet: Packet, rinfo: { port: number; address: string }, cb?: (err: Error | null) => void): void;
      destroy(cb?: () => void): void;
      on(event: 'query' | 'response', listener: (packet: Packet, rinfo: RemoteInfo) => void): this;
      on(event: 'ready' | 'networkInterface', listener: () => void): this;
      on(event: 'error' | 'warning', listener: (err: Error) => void): this;
      once(event: 'ready', listener: () => void): this;
      once(event: 'error', listener: (err: Error) => void): this;
    }
  }
  function mdns(opts?: mdns.Options): mdns.MulticastDns;
  export = mdns;
}

/** multicast-dns's own codec (used by the record tests to go through real wire encoding). */
declare module 'dns-packet' {
  export function encode(packet: object): Buffer;
  export function decode(buf: Buffer): object;
}
