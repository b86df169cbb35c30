// The built binary on a real PostgreSQL state store: the query API through the real @dapr/dapr SDK
// over HTTP and over gRPC, and one component whichever API reaches it.
import { CommunicationProtocolEnum, DaprClient, LogLevel } from '@dapr/dapr';
import { requireService } from '../../test/services';
import { componentYaml, type Sidecar, startSidecar } from '../helpers/sidecar';

const quiet = () => undefined;
const SILENT = { level: LogLevel.Error, service: { error: quiet, warn: quiet, info: quiet, verbose: quiet, debug: quiet } };
const run = `q${Date.now().toString(36)}${process.pid}`;

describe('state.postgresql through the binary', () => {
  let enabled = false;
  let sc: Sidecar;
  let http: DaprClient;
  let grpcClient: DaprClient;

  beforeAll(async () => {
    if (!(await requireService('postgresql', '127.0.0.1', 5432))) return;
    sc = await startSidecar({
      appId: run,
      resources: {
        'pg.yaml': componentYaml('pg', 'state.postgresql', {
          connectionString: 'host=127.0.0.1 port=5432 user=postgres dbname=test sslmode=disable',
          tableName: 'compat_query_state',
          metadataTableName: 'compat_query_metadata',
        }),
      },
    });
    const opts = { daprHost: '127.0.0.1', logger: SILENT };
    http = new DaprClient({ ...opts, daprPort: String(sc.httpPort), communicationProtocol: CommunicationProtocolEnum.HTTP });
    grpcClient = new DaprClient({ ...opts, daprPort: String(sc.grpcPort), communicationProtocol: CommunicationProtocolEnum.GRPC });
    enabled = true;
  });

  afterAll(async () => {
    if (!enabled) return;
    await grpcClient.stop();
    await sc.stop();
  });

  it('saves over HTTP and queries with filter, sort and page over HTTP and gRPC', async () => {
    if (!enabled) return;
    const people = [
      { key: `${run}-1`, value: { run, name: 'ann', age: 31, org: { team: 'a' } } },
      { key: `${run}-2`, value: { run, name: 'bob', age: 45, org: { team: 'b' } } },
      { key: `${run}-3`, value: { run, name: 'cy', age: 27, org: { team: 'a' } } },
    ];
    await http.state.save('pg', people);
    const query = { filter: { AND: [{ EQ: { run } }, { EQ: { 'org.team': 'a' } }] }, sort: [{ key: 'age', order: 'DESC' as const }], page: { limit: 10 } };
    for (const client of [http, grpcClient]) {
      const res = await client.state.query('pg', query);
      expect(res.results.map((r) => r.key)).toEqual([`${run}-1`, `${run}-3`]);
      // The SDK hands gRPC query data over as raw bytes, HTTP data as parsed JSON.
      const data = res.results[0]!.data as unknown;
      expect(data instanceof Uint8Array ? JSON.parse(Buffer.from(data).toString()) : data).toEqual(people[0]!.value);
    }
  });

  it('reads a value saved over gRPC back over HTTP, with the same ETag', async () => {
    if (!enabled) return;
    await grpcClient.state.save('pg', [{ key: `${run}-x`, value: { hello: 'world' } }]);
    const r = await fetch(`http://127.0.0.1:${sc.httpPort}/v1.0/state/pg/${run}-x`);
    expect(r.status).toBe(200);
    expect(await r.json()).toEqual({ hello: 'world' });
    const viaGrpc = await grpcClient.state.get('pg', `${run}-x`);
    expect(viaGrpc).toEqual({ hello: 'world' });
    expect(r.headers.get('etag')).toMatch(/^\d+$/);
  });
});
