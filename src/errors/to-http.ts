// RuntimeError -> Dapr HTTP error body {"errorCode","message"[,"details"]} and status.
import { asRuntimeError } from './runtime-error';

export interface HttpError {
  status: number;
  body: { errorCode: string; message: string; details?: unknown[] };
}

export function toHttp(e: unknown): HttpError {
  const err = asRuntimeError(e);
  const body: HttpError['body'] = { errorCode: err.code, message: err.message };
  if (err.row.reason) {
    const details: unknown[] = [
      {
        '@type': 'type.googleapis.com/google.rpc.ErrorInfo',
        reason: err.row.reason,
        domain: 'dapr.io',
        metadata: err.metadata ?? {},
      },
    ];
    if (err.resource) {
      details.push({
        '@type': 'type.googleapis.com/google.rpc.ResourceInfo',
        resource_type: err.resource.type,
        resource_name: err.resource.name,
        owner: '',
        description: err.message,
      });
    }
    body.details = details;
  }
  return { status: err.row.http, body };
}
