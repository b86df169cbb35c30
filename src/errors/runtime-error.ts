// A typed error value: every failure the APIs report is a RuntimeError of a kind from codes.ts.
// Adapters never build status codes themselves; they call toHttp/toGrpc.
import { format } from 'node:util';
import { ERRORS, type ErrorKind, type ErrorRow } from './codes';

export interface ResourceInfo {
  type: string;
  name: string;
}

export class RuntimeError extends Error {
  readonly kind: ErrorKind;
  readonly row: ErrorRow;
  readonly args: unknown[];
  /** Optional details for google.rpc.ErrorInfo / ResourceInfo. */
  resource?: ResourceInfo;
  metadata?: Record<string, string>;

  constructor(kind: ErrorKind, ...args: unknown[]) {
    const row: ErrorRow = ERRORS[kind];
    super(format(row.template, ...args));
    this.name = 'RuntimeError';
    this.kind = kind;
    this.row = row;
    this.args = args;
  }

  get code(): string {
    return this.row.code;
  }

  withResource(type: string, name: string): this {
    this.resource = { type, name };
    return this;
  }

  /** Message as the Layotto API phrases it (same args, its own template when it differs). */
  layottoMessage(): string {
    return this.row.layotto ? format(this.row.layotto.template, ...this.args) : this.message;
  }
}

export const isRuntimeError = (e: unknown): e is RuntimeError => e instanceof RuntimeError;

/** Any thrown value as a RuntimeError; unexpected ones become the generic 500 "ERROR". */
export function asRuntimeError(e: unknown): RuntimeError {
  if (e instanceof RuntimeError) return e;
  return new RuntimeError('UNKNOWN', e instanceof Error ? e.message : String(e));
}

/** Message of any thrown value, for wrapping component errors into a template's last %s. */
export const errMessage = (e: unknown): string => (e instanceof Error ? e.message : String(e));
