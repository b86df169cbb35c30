// Loads our own Layotto protos (proto/layotto) once. google/protobuf/{any,empty}.proto come from
// the definitions protobufjs bundles, so they are not copied into the repository.
import { isAbsolute, join, resolve } from 'node:path';
import * as protoLoader from '@grpc/proto-loader';
import * as protobuf from 'protobufjs';

/** proto/layotto at the package root; the same relative path works from src/ and dist/. */
export const PROTO_DIR = resolve(__dirname, '..', '..', '..', 'proto', 'layotto');
export const PROTO_FILES = ['runtime', 'appcallback', 'lifecycle'].map((f) => `spec/proto/runtime/v1/${f}.proto`);
export const PACKAGE = 'spec.proto.runtime.v1';

let cached: protoLoader.PackageDefinition | undefined;

/** The grpc-js package definition (snake_case field names, as on the wire and in Layotto's Go code). */
export function loadLayottoDefinition(): protoLoader.PackageDefinition {
  cached ??= protoLoader.loadSync(PROTO_FILES, {
    includeDirs: [PROTO_DIR],
    keepCase: true,
    longs: String,
    enums: Number,
    defaults: true,
    oneofs: true,
  });
  return cached;
}

/** The same files as a protobufjs Root (for tests and tools that need reflection). */
export function loadLayottoRoot(): protobuf.Root {
  const root = new protobuf.Root();
  root.resolvePath = (_origin, target) =>
    isAbsolute(target) || target.startsWith('google/protobuf/') ? target : join(PROTO_DIR, target);
  root.loadSync(PROTO_FILES.map((f) => join(PROTO_DIR, f)), { keepCase: true });
  root.resolveAll();
  return root;
}
