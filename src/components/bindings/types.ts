// The binding contract (components-contrib's bindings.OutputBinding / InputBinding): an output
// binding runs an operation against an outside system; an input binding turns that system's events
// into calls to the app. One component may be both (rabbitmq, mqtt3); the metadata `direction`
// ("input", "output", "input, output") narrows what the runtime starts.
import type { Component } from '../types';

/** Operations contrib names; components may add their own (postgresql's exec/query/close). */
export const BindingOperation = {
  CREATE: 'create',
  GET: 'get',
  LIST: 'list',
  DELETE: 'delete',
} as const;

export interface BindingInvokeRequest {
  operation: string;
  /** The payload bytes (Dapr HTTP re-marshals JSON `data`, so a JSON string arrives with its quotes). */
  data: Buffer;
  /** Request metadata, with traceparent/tracestate added by the runtime. */
  metadata: Record<string, string>;
  /** Fires when the runtime stops waiting (a Resiliency timeout); components should give up then. */
  signal?: AbortSignal;
}

export interface BindingInvokeResponse {
  data: Buffer;
  /** Sent back as `metadata.<key>` headers (HTTP) or the response's metadata map (gRPC). */
  metadata: Record<string, string>;
  contentType?: string;
}

export interface OutputBinding {
  /** The operations invoke() accepts; anything else is refused by the core before the call. */
  operations(): readonly string[];
  /** Resolves undefined for "no response" (daprd answers 204), a response otherwise (200, even if empty). */
  invoke(req: BindingInvokeRequest): Promise<BindingInvokeResponse | undefined>;
}

/**
 * A failed invocation that still has response metadata to report (contrib's http binding answers
 * a status >= 400 with statusCode/headers and an error); daprd passes that metadata back.
 */
export class BindingInvokeError extends Error {
  constructor(
    message: string,
    readonly response?: BindingInvokeResponse,
  ) {
    super(message);
    this.name = 'BindingInvokeError';
  }
}

/** One event read from the outside system. */
export interface BindingReadEvent {
  data: Buffer;
  metadata: Record<string, string>;
}

/**
 * Hands one event to the app. Resolves (with the app's answer body, if any) when the app accepted
 * it: only then may the component acknowledge it. Rejects when it must come again.
 */
export type BindingReadHandler = (ev: BindingReadEvent) => Promise<Buffer | undefined>;

export interface BindingReader {
  /** Stops reading; events not yet acknowledged stay with the outside system. */
  close(): Promise<void>;
}

export interface InputBinding {
  /** Starts delivering events to the handler; resolves once reading has begun. */
  read(handler: BindingReadHandler): Promise<BindingReader>;
}

/** A binding component: output, input, or both (see the guards below). */
export type Binding = Component & Partial<OutputBinding> & Partial<InputBinding>;

export const isOutputBinding = (b: Binding): b is Binding & OutputBinding => typeof b.invoke === 'function' && typeof b.operations === 'function';
export const isInputBinding = (b: Binding): b is Binding & InputBinding => typeof b.read === 'function';
