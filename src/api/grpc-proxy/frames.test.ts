import { messageSizeGuard } from './frames';

const frame = (length: number, fill = 1): Buffer => {
  const b = Buffer.alloc(5 + length, fill);
  b[0] = 0;
  b.writeUInt32BE(length, 1);
  return b;
};

function feed(max: number, chunks: Buffer[]): number[] {
  const tripped: number[] = [];
  const guard = messageSizeGuard(max, (n) => tripped.push(n));
  for (const c of chunks) guard(c);
  return tripped;
}

describe('messageSizeGuard', () => {
  it('lets messages up to max through, several per chunk or split anywhere', () => {
    const stream = Buffer.concat([frame(10), frame(0), frame(100), frame(7)]);
    expect(feed(100, [stream])).toEqual([]);
    for (let cut = 1; cut < stream.length; cut += 3) expect(feed(100, [stream.subarray(0, cut), stream.subarray(cut)])).toEqual([]);
    expect(feed(100, [...stream].map((b) => Buffer.from([b])))).toEqual([]);
  });

  it('reports the first message over max once, even with its prefix split across chunks', () => {
    const stream = Buffer.concat([frame(3), frame(101), frame(500)]);
    expect(feed(100, [stream])).toEqual([101]);
    expect(feed(100, [stream.subarray(0, 10), stream.subarray(10, 12), stream.subarray(12)])).toEqual([101]);
  });

  it('reads the length from the prefix, not from what arrived (a large message can be cut short)', () => {
    const prefix = frame(1_000_000).subarray(0, 5);
    expect(feed(999_999, [prefix])).toEqual([1_000_000]);
  });
});
