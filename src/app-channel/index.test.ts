// createAppChannel: one channel class per --app-protocol.
import { createAppChannel } from './index';

test('createAppChannel picks the channel by protocol and refuses an unknown one', async () => {
  const kinds = [];
  for (const protocol of ['http', 'HTTPS', 'h2c', 'grpc', 'grpcs']) {
    const c = createAppChannel({ address: '127.0.0.1', port: 1, protocol, appId: 'a' });
    kinds.push(c.kind);
    await c.close();
  }
  expect(kinds).toEqual(['http', 'http', 'http', 'grpc', 'grpc']);
  expect(() => createAppChannel({ address: '127.0.0.1', port: 1, protocol: 'ws', appId: 'a' })).toThrow('unknown app protocol "ws"');
});
