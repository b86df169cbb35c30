// The request/response shapes of the Layotto rpcs this face implements, as @grpc/proto-loader
// decodes them (keepCase, defaults, enums as numbers, bytes as Buffer). Hand-written for the few
// rpcs served; the .proto files stay the source of truth.

export type StringMap = Record<string, string>;

export interface Any {
  type_url: string;
  value: Buffer;
}

export interface SayHelloRequest {
  service_name: string;
  name: string;
  data: Any | null;
}
export interface SayHelloResponse {
  hello: string;
  data: Any | null;
}

export interface StateOptions {
  concurrency: number;
  consistency: number;
}
export interface Etag {
  value: string;
}
export interface StateItem {
  key: string;
  value: Buffer;
  etag: Etag | null;
  metadata: StringMap;
  options: StateOptions | null;
}

export interface GetStateRequest {
  store_name: string;
  key: string;
  consistency: number;
  metadata: StringMap;
}
export interface GetStateResponse {
  data: Buffer;
  etag: string;
  metadata: StringMap;
}

export interface GetBulkStateRequest {
  store_name: string;
  keys: string[];
  parallelism: number;
  metadata: StringMap;
}
export interface BulkStateItem {
  key: string;
  data: Buffer;
  etag: string;
  error: string;
  metadata: StringMap;
}

export interface SaveStateRequest {
  store_name: string;
  states: StateItem[];
}
export interface DeleteStateRequest {
  store_name: string;
  key: string;
  etag: Etag | null;
  options: StateOptions | null;
  metadata: StringMap;
}
export interface DeleteBulkStateRequest {
  store_name: string;
  states: StateItem[];
}

/** camelCase field names, as in Layotto's proto. */
export interface TransactionalStateOperation {
  operationType: string;
  request: StateItem | null;
}
export interface ExecuteStateTransactionRequest {
  storeName: string;
  operations: TransactionalStateOperation[];
  metadata: StringMap;
}

export type Empty = Record<string, never>;
