import { type ResponseHeaders, ResponseParser } from './http1-response';

interface Seen {
  heads: { status: number; headers: ResponseHeaders }[];
  body: string;
  ended: boolean;
  trailers?: ResponseHeaders;
}

function parser(head = false): { p: ResponseParser; seen: Seen } {
  const seen: Seen = { heads: [], body: '', ended: false };
  const p = new ResponseParser(
    {
      head: (status, headers) => seen.heads.push({ status, headers }),
      data: (c) => (seen.body += c.toString('latin1')),
      end: (t) => {
        seen.ended = true;
        seen.trailers = t;
      },
    },
    head,
  );
  return { p, seen };
}

/** Feeds `text` whole, then byte by byte, then in 7-byte pieces: every split must give the same. */
function everySplit(text: string, head = false): Seen[] {
  const out: Seen[] = [];
  for (const size of [text.length, 1, 7]) {
    const { p, seen } = parser(head);
    const b = Buffer.from(text, 'latin1');
    for (let i = 0; i < b.length; i += size) p.execute(b.subarray(i, i + size));
    out.push(seen);
  }
  return out;
}

describe('ResponseParser', () => {
  it('reads a Content-Length answer however the bytes are split', () => {
    for (const seen of everySplit('HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nX-A: 1\r\nx-a: 2\r\n\r\nhello')) {
      expect(seen.heads).toEqual([{ status: 200, headers: { 'content-type': 'text/plain', 'content-length': '5', 'x-a': ['1', '2'] } }]);
      expect(seen.body).toBe('hello');
      expect(seen.ended).toBe(true);
    }
  });

  it('decodes chunked bodies with extensions and keeps trailers', () => {
    const text = 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\nA\r\n, world!!!\r\n0\r\ngrpc-status: 0\r\nX-T: a\r\n\r\n';
    for (const seen of everySplit(text)) {
      expect(seen.body).toBe('hello, world!!!');
      expect(seen.trailers).toEqual({ 'grpc-status': '0', 'x-t': 'a' });
      expect(seen.ended).toBe(true);
    }
    const { p, seen } = parser();
    p.execute(Buffer.from('HTTP/1.1 200 OK\r\ntransfer-encoding: chunked\r\n\r\n3\r\nabc\r\n0\r\n\r\n'));
    expect(seen).toMatchObject({ body: 'abc', ended: true, trailers: undefined });
    expect(p.keepAlive).toBe(true);
  });

  it('skips interim 1xx answers', () => {
    for (const seen of everySplit('HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 103 Early Hints\r\nLink: </a>\r\n\r\nHTTP/1.1 201 Created\r\nContent-Length: 2\r\n\r\nok')) {
      expect(seen.heads.map((h) => h.status)).toEqual([201]);
      expect(seen.body).toBe('ok');
    }
  });

  it('answers to HEAD, 204 and 304 have no body, whatever their headers say', () => {
    const [seen] = everySplit('HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n', true);
    expect(seen).toMatchObject({ body: '', ended: true });
    for (const status of [204, 304]) expect(everySplit(`HTTP/1.1 ${status} X\r\nContent-Length: 10\r\n\r\n`)[0]).toMatchObject({ ended: true, body: '' });
  });

  it('reads a body without framing until the connection ends, and never reuses that connection', () => {
    const { p, seen } = parser();
    p.execute(Buffer.from('HTTP/1.1 200 OK\r\n\r\nsome'));
    p.execute(Buffer.from(' bytes'));
    expect(seen.ended).toBe(false);
    p.eof();
    expect(seen).toMatchObject({ body: 'some bytes', ended: true });
    expect(p.keepAlive).toBe(false);
  });

  it('keep-alive: HTTP/1.1 unless Connection: close; HTTP/1.0 only with Connection: keep-alive', () => {
    const ka = (text: string) => {
      const { p } = parser();
      p.execute(Buffer.from(text));
      return p.keepAlive;
    };
    expect(ka('HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n')).toBe(true);
    expect(ka('HTTP/1.1 200 OK\r\nConnection: Close\r\nContent-Length: 0\r\n\r\n')).toBe(false);
    expect(ka('HTTP/1.0 200 OK\r\nContent-Length: 0\r\n\r\n')).toBe(false);
    expect(ka('HTTP/1.0 200 OK\r\nConnection: keep-alive\r\nContent-Length: 0\r\n\r\n')).toBe(true);
    // Content-Length with Transfer-Encoding: chunked is trusted, the connection is not.
    expect(ka('HTTP/1.1 200 OK\r\nContent-Length: 3\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n')).toBe(false);
    // Bytes past the end of an answer: out of step.
    expect(ka('HTTP/1.1 200 OK\r\nContent-Length: 1\r\n\r\nab')).toBe(false);
  });

  it.each([
    ['a bad status line', 'HTTP/2 200 OK\r\n\r\n', /bad status line/],
    ['obsolete line folding', 'HTTP/1.1 200 OK\r\nX-A: 1\r\n  folded\r\n\r\n', /folding/],
    ['a header without a name', 'HTTP/1.1 200 OK\r\n: v\r\n\r\n', /without a name/],
    ['a bad header name', 'HTTP/1.1 200 OK\r\nX A: v\r\n\r\n', /bad header name/],
    ['Content-Length values that disagree', 'HTTP/1.1 200 OK\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\n', /Content-Length/],
    ['a Content-Length that is no number', 'HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n', /Content-Length/],
    ['a bad chunk size', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n', /chunk size/],
    ['chunk data without its CRLF', 'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\naXY', /CRLF/],
    ['an unasked 101', 'HTTP/1.1 101 Switching Protocols\r\n\r\n', /101/],
  ])('refuses %s', (_what, text, re) => {
    const { p } = parser();
    expect(() => p.execute(Buffer.from(text))).toThrow(re);
  });

  it('limits the head to 16 KiB and reports an answer cut short', () => {
    const { p } = parser();
    expect(() => p.execute(Buffer.from(`HTTP/1.1 200 OK\r\nX: ${'a'.repeat(17000)}`))).toThrow(/over 16384 bytes/);
    const cut = parser().p;
    cut.execute(Buffer.from('HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nabc'));
    expect(() => cut.eof()).toThrow(/middle of the body/);
    const none = parser().p;
    expect(() => none.eof()).toThrow(/before the response head/);
    expect(none.bytesRead).toBe(0);
  });
});

describe('ResponseParser header scan', () => {
  const headersOf = (text: string): ResponseHeaders => {
    const { p, seen } = parser();
    p.execute(Buffer.from(text, 'latin1'));
    return seen.heads[0]!.headers;
  };

  it('lower-cases names, common or not, whatever their case', () => {
    const h = headersOf('HTTP/1.1 200 OK\r\nCONTENT-LENGTH: 0\r\nCoNnEcTiOn: Keep-Alive\r\nX-Custom-Name: a\r\nx-lower: b\r\nContent-Type:text/plain \t\r\n\r\n');
    expect(h).toEqual({ 'content-length': '0', connection: 'Keep-Alive', 'x-custom-name': 'a', 'x-lower': 'b', 'content-type': 'text/plain' });
  });

  it('keeps what trim() took before: a value ending in a bare CR, a vertical tab or NBSP', () => {
    expect(headersOf('HTTP/1.1 200 OK\r\nX-A: 1\r\r\nX-B: \x0b2\xa0\r\nContent-Length: 0\r\n\r\n')).toEqual({ 'x-a': '1', 'x-b': '2', 'content-length': '0' });
  });

  it.each([
    ['obsolete line folding', 'HTTP/1.1 200 OK\r\nX-A: 1\r\n\tfolded\r\n\r\n', /folding/],
    ['a bare LF', 'HTTP/1.1 200 OK\r\nX-A: 1\nX-B: 2\r\n\r\n', /bare LF/],
    ['a bare CR inside a value', 'HTTP/1.1 200 OK\r\nX-A: 1\r2\r\n\r\n', /bad value of header X-A/],
    ['a NUL in a value', 'HTTP/1.1 200 OK\r\nX-A: 1\x002\r\n\r\n', /bad value/],
    ['a space before the colon', 'HTTP/1.1 200 OK\r\nContent-Length : 1\r\n\r\n', /bad header name/],
    ['a status line with a bare CR', 'HTTP/1.1 200 O\rK\r\n\r\n', /bad status line/],
    ['a three-digit status missing', 'HTTP/1.1 20 OK\r\n\r\n', /bad status line/],
    ['a Content-Length list that disagrees', 'HTTP/1.1 200 OK\r\nContent-Length: 1, 2\r\n\r\n', /Content-Length/],
  ])('still refuses %s', (_what, text, re) => {
    const { p } = parser();
    expect(() => p.execute(Buffer.from(text, 'latin1'))).toThrow(re);
  });

  it('reads Connection and Transfer-Encoding in any case, and agreeing Content-Length lists', () => {
    const ka = (text: string) => {
      const { p } = parser();
      p.execute(Buffer.from(text));
      return p.keepAlive;
    };
    expect(ka('HTTP/1.1 200 OK\r\nConnection: CLOSE\r\nContent-Length: 0\r\n\r\n')).toBe(false);
    expect(ka('HTTP/1.0 200 OK\r\nConnection: Keep-Alive\r\nContent-Length: 0\r\n\r\n')).toBe(true);
    expect(ka('HTTP/1.1 200 OK\r\nConnection: x-a, close\r\nContent-Length: 0\r\n\r\n')).toBe(false);
    const [seen] = everySplit('HTTP/1.1 200 OK\r\nTRANSFER-ENCODING: Chunked\r\n\r\n1\r\na\r\n0\r\n\r\n');
    expect(seen).toMatchObject({ body: 'a', ended: true });
    expect(everySplit('HTTP/1.1 200 OK\r\nContent-Length: 2, 2\r\n\r\nab')[0]).toMatchObject({ body: 'ab', ended: true });
  });

  it('finds a head longer than the first scan, and one ending across it', () => {
    for (const pad of [3000, 2048 - 'HTTP/1.1 200 OK\r\nX: \r\nContent-Length: 2\r'.length - 1]) {
      const text = `HTTP/1.1 200 OK\r\nX: ${'a'.repeat(pad)}\r\nContent-Length: 2\r\n\r\nok`;
      expect(everySplit(text)[0]).toMatchObject({ body: 'ok', ended: true });
    }
  });
});
