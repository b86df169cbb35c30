// The proto message shapes this face reads and writes, as @grpc/proto-loader hands them over with
// LOADER_OPTIONS (keepCase, enums as strings, bytes as Buffer, defaults on; absent messages are null).
// Only the fields used here are declared.

export type StringMap = Record<string, string>;

export interface Etag {
  value: string;
}

export interface StateOptions {
  concurrency: string | number;
  consistency: string | number;
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
  consistency: string | number;
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

export interface QueryStateRequest {
  store_name: string;
  query: string;
  metadata: StringMap;
}

export interface QueryStateResponse {
  results: { key: string; data: Buffer; etag: string; error: string }[];
  token: string;
  metadata: StringMap;
}

/** The proto spells these two fields camelCase itself (storeName, operationType). */
export interface ExecuteStateTransactionRequest {
  storeName: string;
  operations: { operationType: string; request: StateItem | null }[];
  metadata: StringMap;
}

export interface SetMetadataRequest {
  key: string;
  value: string;
}

export type Empty = Record<string, never>;
