import { endToEnd } from './headers';
import { requestHead } from './http1-pool';
import { NO_BODY } from './upstream';

describe('endToEnd', () => {
  it('drops hop-by-hop headers and those a Connection header names, whatever its case', () => {
    const h = { host: 'a', connection: 'Keep-Alive', 'keep-alive': 'timeout=5', te: 'trailers', upgrade: 'x', 'proxy-connection': 'x', 'proxy-authorization': 'x', 'transfer-encoding': 'chunked', 'http2-settings': 'x', ':path': '/', 'x-a': '1', 'x-b': ['1', '2'], 'x-u': undefined };
    expect(endToEnd(h)).toEqual({ 'x-a': '1', 'x-b': ['1', '2'], te: 'trailers' });
    expect(endToEnd({ connection: 'CLOSE', 'x-a': '1' })).toEqual({ 'x-a': '1' });
    expect(endToEnd({ connection: 'close, X-A', 'x-a': '1', 'x-b': '2' })).toEqual({ 'x-b': '2' });
    expect(endToEnd({ connection: ['keep-alive', 'x-b'], 'x-a': '1', 'x-b': '2' })).toEqual({ 'x-a': '1' });
  });
});

describe('requestHead', () => {
  it('writes the head, and refuses a path that cannot go in a request line', () => {
    const req = { method: 'GET', path: '/a?b', authority: 'svc', headers: { 'x-a': '1', host: 'other' }, body: NO_BODY, grpc: false, checked: true };
    expect(requestHead(req, '')).toBe('GET /a?b HTTP/1.1\r\nhost: svc\r\nx-a: 1\r\n\r\n');
    for (const path of ['/a b', '/a\r\n', '/a\0', '/a\n']) expect(() => requestHead({ ...req, path }, '')).toThrow(/bad request path/);
  });
});
