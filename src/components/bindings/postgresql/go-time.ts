// Go's spellings of times and durations in the binding's response metadata (start-time, end-time:
// time.RFC3339Nano; duration: time.Duration.String()).

/** RFC3339Nano in UTC: fraction digits without trailing zeros, none when whole. */
export const rfc3339Nano = (d: Date): string => d.toISOString().replace(/\.?0*Z$/, 'Z');

/** Go's "%.Nf" with the trailing zeros (and a bare point) dropped. */
const trimmed = (n: number, digits: number): string => n.toFixed(digits).replace(/\.?0+$/, '');

/** time.Duration.String for a non-negative number of milliseconds: "0s", "850µs", "1.5ms", "2.01s", "1m3s". */
export function goDuration(ms: number): string {
  const ns = Math.round(ms * 1e6);
  if (ns === 0) return '0s';
  if (ns < 1e3) return `${ns}ns`;
  if (ns < 1e6) return `${trimmed(ns / 1e3, 3)}µs`;
  if (ns < 1e9) return `${trimmed(ns / 1e6, 6)}ms`;
  const h = Math.floor(ns / 3.6e12);
  const m = Math.floor((ns % 3.6e12) / 6e10);
  const s = trimmed((ns % 6e10) / 1e9, 9);
  return `${h ? `${h}h` : ''}${h || m ? `${m}m` : ''}${s}s`;
}
