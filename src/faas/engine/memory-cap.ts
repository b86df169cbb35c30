// Caps a module's linear memory before it is compiled: the memory section's maximum becomes at most
// the function's limit, so memory.grow past it fails inside the guest instead of taking the
// sidecar's RAM. Imported memories are created by the worker with the same cap (see worker.ts).
import { FunctionError } from '../types';

export const PAGE = 65536;

export interface CappedModule {
  bytes: Uint8Array;
  /** Limits of an imported memory, if the module imports one instead of defining it. */
  importedMemory?: { initial: number; maximum?: number };
}

class Reader {
  constructor(
    readonly b: Uint8Array,
    public pos: number,
  ) {}
  byte(): number {
    if (this.pos >= this.b.length) throw new RangeError('unexpected end of module');
    return this.b[this.pos++];
  }
  u32(): number {
    let result = 0;
    let shift = 0;
    for (;;) {
      const byte = this.byte();
      result += (byte & 0x7f) * 2 ** shift;
      if (!(byte & 0x80)) return result;
      shift += 7;
      if (shift > 35) throw new RangeError('LEB128 too long');
    }
  }
  skip(n: number): void {
    this.pos += n;
  }
  name(): void {
    this.skip(this.u32());
  }
  limits(): { flags: number; min: number; max?: number } {
    const flags = this.byte();
    const min = this.u32();
    return { flags, min, max: flags & 1 ? this.u32() : undefined };
  }
}

function leb(n: number): number[] {
  const out: number[] = [];
  do {
    let byte = n & 0x7f;
    n = Math.floor(n / 128);
    if (n) byte |= 0x80;
    out.push(byte);
  } while (n);
  return out;
}

function checkLimits(l: { flags: number; min: number }, maxPages: number, path: string): void {
  if (l.flags & ~1) throw new FunctionError('load', `${path}: shared or 64-bit memories are not supported`);
  if (l.min > maxPages) {
    throw new FunctionError('load', `${path}: the module needs ${l.min / 16} MiB of memory at start, above its limit of ${maxPages / 16} MiB`);
  }
}

/** Returns the module with every defined memory's maximum set to min(maximum, maxPages). */
export function capMemory(bytes: Uint8Array, maxPages: number, path: string): CappedModule {
  if (bytes.length < 8 || bytes[0] !== 0 || bytes[1] !== 0x61 || bytes[2] !== 0x73 || bytes[3] !== 0x6d) {
    throw new FunctionError('load', `${path} is not a WebAssembly module (no \\0asm header)`);
  }
  const r = new Reader(bytes, 8);
  const chunks: Uint8Array[] = [bytes.subarray(0, 8)];
  let importedMemory: CappedModule['importedMemory'];
  try {
    while (r.pos < bytes.length) {
      const start = r.pos;
      const id = r.byte();
      const size = r.u32();
      const body = r.pos;
      const end = body + size;
      if (end > bytes.length) throw new RangeError('section runs past the end of the module');
      if (id === 2) {
        for (let n = r.u32(); n > 0; n--) {
          r.name();
          r.name();
          const kind = r.byte();
          if (kind === 0) r.u32();
          else if (kind === 1) (r.byte(), r.limits());
          else if (kind === 2) {
            const l = r.limits();
            checkLimits(l, maxPages, path);
            importedMemory = { initial: l.min, maximum: Math.min(l.max ?? maxPages, maxPages) };
          } else if (kind === 3) r.skip(2);
          else if (kind === 4) (r.byte(), r.u32());
          else throw new RangeError(`unknown import kind ${kind}`);
        }
      }
      if (id === 5) {
        const content: number[] = [];
        const n = r.u32();
        content.push(...leb(n));
        for (let i = 0; i < n; i++) {
          const l = r.limits();
          checkLimits(l, maxPages, path);
          content.push(1, ...leb(l.min), ...leb(Math.min(l.max ?? maxPages, maxPages)));
        }
        chunks.push(Uint8Array.from([5, ...leb(content.length), ...content]));
      } else {
        chunks.push(bytes.subarray(start, end));
      }
      r.pos = end;
    }
  } catch (e) {
    if (e instanceof FunctionError) throw e;
    throw new FunctionError('load', `${path} is not a valid WebAssembly module: ${(e as Error).message}`);
  }
  return { bytes: Buffer.concat(chunks), importedMemory };
}
