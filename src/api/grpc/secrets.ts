// GetSecret / GetBulkSecret for both gRPC faces: Dapr's and Layotto's messages match field for
// field, so one implementation serves both; each face passes its own `unary` (its error mapping).
import type * as grpc from '@grpc/grpc-js';
import type { SecretsCore } from '../../core/secrets';
import type { unaryWith } from './handlers';

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

export function secretsHandlers(secrets: SecretsCore, unary: ReturnType<typeof unaryWith>): grpc.UntypedServiceImplementation {
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
