// Layotto's local store reports times and modes as Go prints them: time.Time.String() and
// int(os.FileMode). Clients written against it parse these strings, so they keep Go's shape.
import type { BigIntStats } from 'node:fs';

/** Go's time.Time.String() in UTC: "2006-01-02 15:04:05.999999999 +0000 UTC" (fraction trimmed). */
export function goTime(ns: bigint): string {
  const secs = ns / 1_000_000_000n;
  const frac = ns % 1_000_000_000n;
  const day = new Date(Number(secs) * 1000).toISOString().slice(0, 19).replace('T', ' ');
  const fraction = frac === 0n ? '' : '.' + frac.toString().padStart(9, '0').replace(/0+$/, '');
  return `${day}${fraction} +0000 UTC`;
}

// Go's os.FileMode type bits (io/fs): they sit above the Unix permission bits.
const GO_MODE_DIR = 2 ** 31;
const GO_MODE_SETUID = 2 ** 23;
const GO_MODE_SETGID = 2 ** 22;
const GO_MODE_STICKY = 2 ** 20;

/** int(os.FileMode) of a stat result: permissions plus Go's own bits for dirs, setuid, setgid, sticky. */
export function goFileMode(st: BigIntStats): number {
  const mode = Number(st.mode);
  let go = mode & 0o777;
  if (st.isDirectory()) go += GO_MODE_DIR;
  if (mode & 0o4000) go += GO_MODE_SETUID;
  if (mode & 0o2000) go += GO_MODE_SETGID;
  if (mode & 0o1000) go += GO_MODE_STICKY;
  return go;
}
