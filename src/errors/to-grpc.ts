// RuntimeError -> gRPC status for the Dapr API (with google.rpc.ErrorInfo in
// grpc-status-details-bin, as daprd's kit errors do) and for the Layotto API (plain status).
import { Metadata, status, type ServiceError, type StatusObject } from '@grpc/grpc-js';
import * as protobuf from 'protobufjs';
import { asRuntimeError } from './runtime-error';

// google.rpc.Status / ErrorInfo / ResourceInfo, declared inline: three small messages.
const root = protobuf.Root.fromJSON({
  nested: {
    google: {
      nested: {
        protobuf: { nested: { Any: { fields: { type_url: { type: 'string', id: 1 }, value: { type: 'bytes', id: 2 } } } } },
        rpc: {
          nested: {
            Status: {
              fields: {
                code: { type: 'int32', id: 1 },
                message: { type: 'string', id: 2 },
                details: { rule: 'repeated', type: 'google.protobuf.Any', id: 3 },
              },
            },
            ErrorInfo: {
              fields: {
                reason: { type: 'string', id: 1 },
                domain: { type: 'string', id: 2 },
                metadata: { keyType: 'string', type: 'string', id: 3 } as protobuf.IField,
              },
            },
            ResourceInfo: {
              fields: {
                resource_type: { type: 'string', id: 1 },
                resource_name: { type: 'string', id: 2 },
                owner: { type: 'string', id: 3 },
                description: { type: 'string', id: 4 },
              },
            },
          },
        },
      },
    },
  },
});
const StatusMsg = root.lookupType('google.rpc.Status');
const ErrorInfoMsg = root.lookupType('google.rpc.ErrorInfo');
const ResourceInfoMsg = root.lookupType('google.rpc.ResourceInfo');

type GrpcError = Partial<StatusObject> & { code: number; details: string; metadata?: Metadata };

function asServiceError(code: number, details: string, metadata?: Metadata): ServiceError {
  const e = new Error(details) as ServiceError & GrpcError;
  e.code = code;
  e.details = details;
  e.metadata = metadata ?? new Metadata();
  return e;
}

/** Dapr API status: code and message from the table, plus ErrorInfo/ResourceInfo details. */
export function toGrpc(e: unknown): ServiceError {
  const err = asRuntimeError(e);
  const code = err.row.grpc;
  if (!err.row.reason) return asServiceError(code, err.message);
  const details = [
    {
      type_url: 'type.googleapis.com/google.rpc.ErrorInfo',
      value: ErrorInfoMsg.encode({ reason: err.row.reason, domain: 'dapr.io', metadata: err.metadata ?? {} }).finish(),
    },
  ];
  if (err.resource) {
    details.push({
      type_url: 'type.googleapis.com/google.rpc.ResourceInfo',
      value: ResourceInfoMsg.encode({
        resource_type: err.resource.type,
        resource_name: err.resource.name,
        owner: '',
        description: err.message,
      }).finish(),
    });
  }
  const md = new Metadata();
  md.set('grpc-status-details-bin', Buffer.from(StatusMsg.encode({ code, message: err.message, details }).finish()));
  return asServiceError(code, err.message, md);
}

/**
 * A status with one google.rpc.ErrorInfo detail that is not from the error table (an invoked HTTP
 * app's failure as daprd reports it over gRPC); `metadata` is sent along as trailers.
 */
export function statusWithErrorInfo(code: number, message: string, info: { reason: string; metadata: Record<string, string> }, metadata = new Metadata()): ServiceError {
  const detail = { type_url: 'type.googleapis.com/google.rpc.ErrorInfo', value: ErrorInfoMsg.encode({ ...info, domain: 'dapr.io' }).finish() };
  metadata.set('grpc-status-details-bin', Buffer.from(StatusMsg.encode({ code, message, details: [detail] }).finish()));
  return asServiceError(code, message, metadata);
}

/** Layotto API status: Layotto's own code and message where they differ, no details. */
export function toLayottoGrpc(e: unknown): ServiceError {
  const err = asRuntimeError(e);
  return asServiceError(err.row.layotto?.grpc ?? err.row.grpc, err.layottoMessage());
}

/** UNIMPLEMENTED naming the rpc, for rpcs whose building block has not landed. */
export function unimplemented(rpc: string): ServiceError {
  return asServiceError(status.UNIMPLEMENTED, `${rpc} is not implemented`);
}
