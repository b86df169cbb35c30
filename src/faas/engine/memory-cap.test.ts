import fc from 'fast-check';
import { FunctionError } from '../types';
import { decodeHeaderMap, encodeHeaderMap } from './abi';
import { capMemory } from './memory-cap';

const HEADER = [0, 0x61, 0x73, 0x6d, 1, 0, 0, 0];
const section = (id: number, body: number[]) => [id, body.length, ...body];
const name = (s: string) => [s.length, ...Buffer.from(s)];
/** A module defining one memory with the given limits bytes, exported as "m". */
const withMemory = (limits: number[]) =>
  Uint8Array.from([...HEADER, ...section(5, [1, ...limits]), ...section(7, [1, ...name('m'), 2, 0])]);

function memoryOf(bytes: Uint8Array): WebAssembly.Memory {
  return new WebAssembly.Instance(new WebAssembly.Module(bytes)).exports.m as WebAssembly.Memory;
}

describe('capMemory', () => {
  test('a memory without maximum gets the cap as maximum', () => {
    const mem = memoryOf(capMemory(withMemory([0, 2]), 4, 'f.wasm').bytes);
    expect(() => mem.grow(3)).toThrow(RangeError);
    expect(mem.grow(2)).toBe(2);
  });

  test('a lower maximum of the module stays', () => {
    const mem = memoryOf(capMemory(withMemory([1, 1, 2]), 4, 'f.wasm').bytes);
    expect(() => mem.grow(2)).toThrow(RangeError);
    expect(mem.grow(1)).toBe(1);
  });

  test('a higher maximum is lowered to the cap (multi-byte LEB sizes)', () => {
    const mem = memoryOf(capMemory(withMemory([1, 1, 0x80, 0x80, 0x01]), 300, 'f.wasm').bytes);
    expect(() => mem.grow(300)).toThrow(RangeError);
    expect(mem.grow(299)).toBe(1);
  });

  test('an initial size above the cap is a load error naming both sizes', () => {
    const e = (() => {
      try {
        capMemory(withMemory([0, 0x80, 0x02]), 64, 'big.wasm');
      } catch (err) {
        return err as FunctionError;
      }
    })();
    expect(e).toBeInstanceOf(FunctionError);
    expect(e).toMatchObject({ kind: 'load', message: 'big.wasm: the module needs 16 MiB of memory at start, above its limit of 4 MiB' });
  });

  test('an imported memory is reported with its capped limits', () => {
    const imports = section(2, [1, ...name('env'), ...name('memory'), 2, 0, 3]);
    expect(capMemory(Uint8Array.from([...HEADER, ...imports]), 16, 'f.wasm').importedMemory).toEqual({ initial: 3, maximum: 16 });
  });

  test.each([
    ['shared memories', withMemory([3, 1, 2]), /shared or 64-bit/],
    ['bytes that are not wasm', Buffer.from('hello world'), /not a WebAssembly module/],
    ['a section running past the end', Uint8Array.from([...HEADER, 5, 9, 1]), /not a valid WebAssembly module/],
  ])('refuses %s', (_what, bytes, message) => {
    expect(() => capMemory(bytes, 16, 'f.wasm')).toThrow(message);
  });
});

describe('header map wire format', () => {
  test('round-trips any pairs', () => {
    fc.assert(
      fc.property(fc.array(fc.tuple(fc.string(), fc.string())), (pairs) => {
        const clean = pairs.map(([k, v]): [string, string] => [k.replace(/\0/g, ''), v.replace(/\0/g, '')]);
        expect(decodeHeaderMap(encodeHeaderMap(clean))).toEqual(clean);
      }),
    );
  });

  test('is proxy-wasm layout: count, sizes, NUL-terminated strings', () => {
    expect([...encodeHeaderMap([['ab', 'c']])]).toEqual([1, 0, 0, 0, 2, 0, 0, 0, 1, 0, 0, 0, 0x61, 0x62, 0, 0x63, 0]);
  });

  test('a truncated map is an error, not a wrong read', () => {
    expect(() => decodeHeaderMap(encodeHeaderMap([['key', 'value']]).subarray(0, 14))).toThrow(RangeError);
  });
});
