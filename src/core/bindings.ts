// Output bindings, written once for the three APIs (daprd's SendToOutputBinding plus what its
// handlers add): the operation must be set and offered by the binding, trace context travels in
// the request metadata, the call runs under the binding's outbound resiliency policies, and any
// failure is ERR_INVOKE_OUTPUT_BINDING with the response metadata the binding still reported.
import { bindingDirection } from '../components/bindings/direction';
import { BindingInvokeError, type BindingInvokeResponse, isOutputBinding, type OutputBinding } from '../components/bindings/types';
import { errMessage, RuntimeError } from '../errors/runtime-error';
import type { CoreContext } from './context';
import { NO_RESILIENCY, type Resiliency } from './resiliency/types';
import { currentTrace, isTraceparent, newTraceparent } from './trace';

export interface InvokeBindingInput {
  name: string;
  operation: string;
  data: Buffer;
  metadata: Record<string, string>;
  /** The caller's W3C trace context (HTTP headers or gRPC metadata); a new trace when absent or invalid. */
  traceparent?: string;
  tracestate?: string;
  baggage?: string;
}

/** ERR_INVOKE_OUTPUT_BINDING, carrying the metadata daprd still sends back (headers / gRPC headers). */
export class OutputBindingError extends RuntimeError {
  constructor(
    name: string,
    reason: string,
    readonly responseMetadata: Record<string, string> = {},
  ) {
    super('INVOKE_OUTPUT_BINDING', name, reason);
  }
}


export class BindingsCore {
  constructor(
    private readonly ctx: CoreContext,
    private readonly resiliency: Resiliency = NO_RESILIENCY,
  ) {}

  /** Resolves undefined when the binding had no response (HTTP 204), its response otherwise. */
  async invoke(req: InvokeBindingInput): Promise<BindingInvokeResponse | undefined> {
    const binding = this.lookup(req.name, req.operation);
    const metadata = withTrace(req);
    try {
      return await this.resiliency.componentOutbound(
        req.name,
        (signal) => binding.invoke({ operation: req.operation, data: req.data, metadata: { ...metadata }, signal }),
        'bindings',
      );
    } catch (e) {
      const md = e instanceof BindingInvokeError ? (e.response?.metadata ?? {}) : {};
      throw new OutputBindingError(req.name, errMessage(e), md);
    }
  }

  /** The live output binding offering `operation`, with daprd's texts when there is none. */
  lookup(name: string, operation: string): OutputBinding {
    if (!operation) throw new OutputBindingError(name, 'operation field is missing from request');
    const live = this.ctx.components.get('bindings', name);
    if (!live || !isOutputBinding(live.instance) || !bindingDirection(live.meta.properties).output) {
      throw new OutputBindingError(name, `couldn't find output binding ${name}`);
    }
    const ops = live.instance.operations();
    if (!ops.includes(operation)) {
      throw new OutputBindingError(name, `binding ${name} does not support operation ${operation}. supported operations:${ops.join(' ')}`);
    }
    return live.instance;
  }
}

/**
 * The request metadata plus trace context, as daprd's handlers add it: with tracing on, the API
 * span's; else the caller's traceparent (with its tracestate) when valid, else the one in the
 * metadata, else a new trace; baggage as sent.
 */
function withTrace(req: InvokeBindingInput): Record<string, string> {
  const md = { ...req.metadata };
  const current = currentTrace();
  if (current) {
    md.traceparent = current.traceparent;
    if (current.tracestate) md.tracestate = current.tracestate;
    else delete md.tracestate;
  } else if (isTraceparent(req.traceparent)) {
    md.traceparent = req.traceparent;
    if (req.tracestate) md.tracestate = req.tracestate;
  } else if (!md.traceparent) {
    md.traceparent = newTraceparent();
  }
  if (req.baggage) md.baggage = req.baggage;
  return md;
}
