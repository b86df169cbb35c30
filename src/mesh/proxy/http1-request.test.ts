import fc from 'fast-check';
import { MAX_REQUEST_HEAD, parseRequestHead, type RequestHead, RequestParseError, RequestParser } from './http1-request';

interface Msg {
  head: RequestHead;
  body: string;
  ended: boolean;
}

/** A parser that resumes after every request (as a connection does once each is answered). */
function run(pieces: Buffer[]): { msgs: Msg[]; error?: RequestParseError } {
  const msgs: Msg[] = [];
  const p = new RequestParser({
    head: (head) => msgs.push({ head, body: '', ended: false }),
    data: (c) => (msgs[msgs.length - 1]!.body += c.toString('latin1')),
    end: () => (msgs[msgs.length - 1]!.ended = true),
  });
  try {
    for (const b of pieces) {
      p.execute(b);
      while (p.stopped) p.resume();
    }
  } catch (e) {
    if (!(e instanceof RequestParseError)) throw e;
    return { msgs, error: e };
  }
  return { msgs };
}

/** `text` cut into pieces of `size` bytes. */
const split = (text: string, size: number): Buffer[] => {
  const b = Buffer.from(text, 'latin1');
  const out: Buffer[] = [];
  for (let i = 0; i < b.length; i += size) out.push(b.subarray(i, i + size));
  return out;
};

const errorOf = (text: string): RequestParseError | undefined => run([Buffer.from(text, 'latin1')]).error;

describe('parseRequestHead', () => {
  it('reads the request line and headers as node:http does', () => {
    const h = parseRequestHead('GET /a?b=1 HTTP/1.1\r\nHost: svc\r\nX-A: 1\r\nx-a:  2 \r\nSet-Cookie: a\r\nset-cookie: b\r\nCookie: c=1\r\ncookie: d=2\r\nHost: other\r\nx-empty:');
    expect(h).toMatchObject({ method: 'GET', target: '/a?b=1', minor: 1, length: 0, keepAlive: true });
    expect(h.headers).toEqual({ host: 'svc', 'x-a': '1, 2', 'set-cookie': ['a', 'b'], cookie: 'c=1; d=2', 'x-empty': '' });
  });

  it('knows when the client keeps the connection', () => {
    expect(parseRequestHead('GET / HTTP/1.1\r\nConnection: Close').keepAlive).toBe(false);
    expect(parseRequestHead('GET / HTTP/1.1\r\nConnection: keep-alive, x-hop').keepAlive).toBe(true);
    expect(parseRequestHead('GET / HTTP/1.0').keepAlive).toBe(false);
    expect(parseRequestHead('GET / HTTP/1.0\r\nconnection: keep-alive').keepAlive).toBe(true);
  });
});

describe('RequestParser', () => {
  it('reads Content-Length and chunked bodies however the bytes are split', () => {
    const text =
      'POST /a HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello' +
      'POST /b HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: gzip, chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n, world!!!\r\n0\r\nx-t: 1\r\n\r\n' +
      'GET /c HTTP/1.1\r\nHost: x\r\n\r\n';
    for (const size of [text.length, 1, 2, 7, 64]) {
      const { msgs, error } = run(split(text, size));
      expect(error).toBeUndefined();
      expect(msgs.map((m) => [m.head.method, m.head.target, m.head.length, m.body, m.ended])).toEqual([
        ['POST', '/a', 5, 'hello', true],
        ['POST', '/b', -1, 'hello, world!!!', true],
        ['GET', '/c', 0, '', true],
      ]);
    }
  });

  it('holds a pipelined request until resumed, and hands the rest over on takeOver', () => {
    const heads: string[] = [];
    let taken: Buffer | undefined;
    const p = new RequestParser({
      head: (h) => {
        heads.push(h.target);
        if (h.method === 'CONNECT') taken = p.takeOver();
      },
      data: () => undefined,
      end: () => undefined,
    });
    p.execute(Buffer.from('GET /1 HTTP/1.1\r\n\r\nGET /2 HTTP/1.1\r\n\r\nCONNECT a:443 HTTP/1.1\r\n\r\nrest'));
    expect(heads).toEqual(['/1']);
    expect(p.stopped).toBe(true);
    p.execute(Buffer.from('more'));
    expect(heads).toEqual(['/1']);
    p.resume();
    expect(heads).toEqual(['/1', '/2']);
    p.resume();
    expect(heads).toEqual(['/1', '/2', 'a:443']);
    expect(taken!.toString()).toBe('CONNECT a:443 HTTP/1.1\r\n\r\nrestmore');
    p.execute(Buffer.from('ignored'));
    expect(heads).toHaveLength(3);
  });

  it('ignores empty lines before a request line', () => {
    const { msgs } = run([Buffer.from('\r\n\r\nGET / HTTP/1.1\r\n\r\n')]);
    expect(msgs).toHaveLength(1);
  });

  it.each([
    ['both Content-Length and Transfer-Encoding', 'POST / HTTP/1.1\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n'],
    ['Transfer-Encoding then Content-Length', 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n0\r\n\r\n'],
    ['two Content-Lengths (even equal)', 'POST / HTTP/1.1\r\nContent-Length: 3\r\nContent-Length: 3\r\n\r\nabc'],
    ['a Content-Length list', 'POST / HTTP/1.1\r\nContent-Length: 3, 3\r\n\r\nabc'],
    ['a signed Content-Length', 'POST / HTTP/1.1\r\nContent-Length: +3\r\n\r\nabc'],
    ['chunked not last', 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n'],
    ['an unknown coding', 'POST / HTTP/1.1\r\nTransfer-Encoding: identity\r\n\r\n'],
    ['space before the colon', 'GET / HTTP/1.1\r\nHost : x\r\n\r\n'],
    ['obsolete line folding', 'GET / HTTP/1.1\r\nX-A: 1\r\n  2\r\n\r\n'],
    ['a bare LF inside', 'GET / HTTP/1.1\r\nX-A: 1\nX-B: 2\r\n\r\n'],
    ['bare LF line ends', 'GET / HTTP/1.1\nHost: x\n\n'],
    ['a bare CR in a value', 'GET / HTTP/1.1\r\nX-A: 1\r2\r\n\r\n'],
    ['a NUL in a value', 'GET / HTTP/1.1\r\nX-A: 1\x002\r\n\r\n'],
    ['an unknown method', 'FOO / HTTP/1.1\r\n\r\n'],
    ['a lower-case method', 'get / HTTP/1.1\r\n\r\n'],
    ['HTTP/2.0 in the request line', 'GET / HTTP/2.0\r\n\r\n'],
    ['a space in the target', 'GET /a b HTTP/1.1\r\n\r\n'],
    ['a missing version', 'GET /\r\n\r\n'],
    ['a bad chunk size', 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n'],
    ['a negative chunk size', 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n-1\r\n'],
    ['chunk data longer than its size', 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n0\r\n\r\n'],
    ['a header line without a colon', 'GET / HTTP/1.1\r\nnocolon\r\n\r\n'],
  ])('refuses %s with 400', (_what, text) => {
    const e = errorOf(text);
    expect(e).toBeInstanceOf(RequestParseError);
    expect(e!.status).toBe(400);
  });

  it('answers a head over 16 KiB with 431, whole or still coming', () => {
    const big = `GET / HTTP/1.1\r\nx-big: ${'a'.repeat(MAX_REQUEST_HEAD)}\r\n\r\n`;
    expect(errorOf(big)?.status).toBe(431);
    const { error } = run(split(big.slice(0, -4), 1000));
    expect(error?.status).toBe(431);
    // Just under the limit is fine.
    expect(errorOf(`GET / HTTP/1.1\r\nx-big: ${'a'.repeat(MAX_REQUEST_HEAD - 100)}\r\n\r\n`)).toBeUndefined();
  });

  it('reads the same requests from any split of the same bytes (property)', () => {
    const token = fc.stringMatching(/^[a-z][a-z0-9-]{0,10}$/).filter((n) => !['content-length', 'transfer-encoding', 'host', 'connection', 'set-cookie', 'cookie'].includes(n));
    const value = fc.stringMatching(/^[!-~]([ -~]{0,20}[!-~])?$/);
    const request = fc.record({
      method: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'),
      path: fc.stringMatching(/^\/[a-z0-9/?=&]{0,20}$/),
      headers: fc.dictionary(token, value, { maxKeys: 5 }),
      body: fc.string({ maxLength: 50 }),
      chunked: fc.boolean(),
      chunk: fc.integer({ min: 1, max: 20 }),
    });
    fc.assert(
      fc.property(fc.array(request, { minLength: 1, maxLength: 4 }), fc.integer({ min: 1, max: 40 }), (reqs, size) => {
        let text = '';
        for (const r of reqs) {
          const body = Buffer.from(r.body).toString('latin1');
          text += `${r.method} ${r.path} HTTP/1.1\r\nhost: svc\r\n`;
          for (const [k, v] of Object.entries(r.headers)) text += `${k}: ${v}\r\n`;
          if (r.chunked) {
            text += 'transfer-encoding: chunked\r\n\r\n';
            for (let i = 0; i < body.length; i += r.chunk) {
              const c = body.slice(i, i + r.chunk);
              text += `${c.length.toString(16)}\r\n${c}\r\n`;
            }
            text += '0\r\n\r\n';
          } else text += `content-length: ${body.length}\r\n\r\n${body}`;
        }
        const { msgs, error } = run(split(text, size));
        expect(error).toBeUndefined();
        expect(msgs.map((m) => [m.head.method, m.head.target, m.body, m.ended])).toEqual(reqs.map((r) => [r.method, r.path, Buffer.from(r.body).toString('latin1'), true]));
        for (const [i, r] of reqs.entries()) for (const [k, v] of Object.entries(r.headers)) expect(msgs[i]!.head.headers[k]).toBe(v);
      }),
      { numRuns: 300 },
    );
  });

  it('never throws anything but RequestParseError, nor hangs, on arbitrary bytes (property)', () => {
    const prefix = fc.constantFrom('', 'GET / HTTP/1.1\r\n', 'POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n', 'POST / HTTP/1.1\r\nContent-Length: 4\r\n\r\n');
    fc.assert(
      fc.property(prefix, fc.uint8Array({ maxLength: 200 }), fc.integer({ min: 1, max: 50 }), (p, bytes, size) => {
        const text = p + Buffer.from(bytes).toString('latin1');
        run(split(text, size)); // run() rethrows anything that is not a RequestParseError
      }),
      { numRuns: 500 },
    );
  });
});

describe('request header scan', () => {
  it('lower-cases names, common or not, whatever their case, and maps common methods', () => {
    const h = parseRequestHead('DELETE /x HTTP/1.1\r\nHOST: svc\r\nUser-Agent: t\r\nX-Custom-Name: a\r\nx-lower:b\t\r\nCONTENT-LENGTH: 0');
    expect(h).toMatchObject({ method: 'DELETE', target: '/x', length: 0 });
    expect(h.headers).toEqual({ host: 'svc', 'user-agent': 't', 'x-custom-name': 'a', 'x-lower': 'b', 'content-length': '0' });
    for (const m of ['GET', 'PUT', 'POST', 'HEAD', 'PATCH', 'OPTIONS']) expect(parseRequestHead(`${m} / HTTP/1.1`).method).toBe(m);
    expect(parseRequestHead('POST / HTTP/1.1\r\nTransfer-Encoding: CHUNKED').length).toBe(-1);
    expect(parseRequestHead('GET / HTTP/1.1\r\nConnection: CLOSE').keepAlive).toBe(false);
  });

  it.each([
    ['GXT / HTTP/1.1', /unknown method/],
    ['PUX / HTTP/1.1', /unknown method/],
    ['GET / HTTP/1.2', /bad HTTP version/],
    ['GET /a\x7f HTTP/1.1', /bad request target/],
    ['GET / HTTP/1.1 x', /bad request line/],
    ['GET / HTTP/1.1\r\nX-A: 1\r\n 2', /without a colon/],
    ['GET / HTTP/1.1\r\nX-A: 1\r\n\tx: 2', /bad header name/],
    ['GET / HTTP/1.1\r\nX-A: 1\n2', /bad value of header X-A/],
    ['GET / HTTP/1.1\r\nX-A: 1\r', /bad value of header X-A/],
    ['GET / HTTP/1.1\r\nX-\u0141: 1', /bad header name/],
    ['GET / HTTP/1.1\r\nContent-Length: 1x', /bad Content-Length/],
  ])('still refuses %j', (text, re) => {
    expect(() => parseRequestHead(text)).toThrow(re);
  });

  it('finds a head longer than the first scan', () => {
    const { msgs, error } = run([Buffer.from(`GET / HTTP/1.1\r\nx-big: ${'a'.repeat(3000)}\r\n\r\nGET /2 HTTP/1.1\r\n\r\n`)]);
    expect(error).toBeUndefined();
    expect(msgs.map((m) => [m.head.target, m.head.headers['x-big']?.length])).toEqual([['/', 3000], ['/2', undefined]]);
  });
});
