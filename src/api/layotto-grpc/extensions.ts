// Layotto's extension services (spec.proto.extension.v1.*: s3 ObjectStorageService, Cryption,
// DelayQueue, Email, PhoneCall, Sms) on the Layotto gRPC server, from our own protos. No
// component backs them yet: every rpc answers UNIMPLEMENTED naming itself, whatever its shape.
import type * as grpc from '@grpc/grpc-js';
import * as protoLoader from '@grpc/proto-loader';
import { unimplementedHandler } from './handlers';
import { PROTO_DIR } from './protos';

/** Proto file (under proto/layotto/spec/proto/extension/v1) → its package's service. */
export const EXTENSIONS: Readonly<Record<string, string>> = {
  's3/oss': 's3.ObjectStorageService',
  'cryption/cryption': 'cryption.CryptionService',
  'delay_queue/delay_queue': 'delay_queue.DelayQueue',
  'email/email': 'email.EmailService',
  'phone/phone': 'phone.PhoneCallService',
  'sms/sms': 'sms.SmsService',
};
const PREFIX = 'spec.proto.extension.v1.';

let cached: protoLoader.PackageDefinition | undefined;

export function loadExtensionDefinition(): protoLoader.PackageDefinition {
  cached ??= protoLoader.loadSync(
    Object.keys(EXTENSIONS).map((f) => `spec/proto/extension/v1/${f}.proto`),
    { includeDirs: [PROTO_DIR], keepCase: true, longs: String, enums: Number, defaults: true, oneofs: true },
  );
  return cached;
}

/** Full names of the extension services, e.g. spec.proto.extension.v1.sms.SmsService. */
export const extensionServiceNames = (): string[] => Object.values(EXTENSIONS).map((s) => PREFIX + s);

export function addExtensionServices(server: grpc.Server): void {
  const pkg = loadExtensionDefinition();
  for (const name of extensionServiceNames()) {
    const def = pkg[name] as grpc.ServiceDefinition;
    const service = name.slice(name.lastIndexOf('.') + 1);
    const impl: grpc.UntypedServiceImplementation = {};
    for (const [rpc, method] of Object.entries(def)) impl[rpc] = unimplementedHandler(`${service}/${rpc}`, method);
    server.addService(def, impl);
  }
}
