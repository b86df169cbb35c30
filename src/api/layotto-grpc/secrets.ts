// Secret rpcs of spec.proto.runtime.v1.Runtime: the same SecretsCore calls as the Dapr faces (Layotto
// converts to its Dapr API the same way); the messages match Dapr's field for field.
import type * as grpc from '@grpc/grpc-js';
import type { SecretsCore } from '../../core/secrets';
import { unary } from './handlers';

type StringMap = Record<string, string>;

interface GetSecretRequest {
  store_name: string;
  key: string;
  metadata: StringMap;
}
interface GetBulkSecretRequest {
  store_name: string;
  metadata: StringMap;
}
interface GetBulkSecretResponse {
  data: Record<string, { secrets: StringMap }>;
}

export function secretsHandlers(secrets: SecretsCore): grpc.UntypedServiceImplementation {
  return {
    GetSecret: unary(async (req: GetSecretRequest): Promise<{ data: StringMap }> => ({
      data: await secrets.get(req.store_name, req.key, req.metadata),
    })),
    GetBulkSecret: unary(async (req: GetBulkSecretRequest): Promise<GetBulkSecretResponse> => {
      const all = await secrets.bulkGet(req.store_name, req.metadata);
      return { data: Object.fromEntries(Object.entries(all).map(([name, s]) => [name, { secrets: s }])) };
    }),
  };
}
