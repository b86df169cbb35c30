// Gate for tests that need a real server. In CI (CI=true) an unreachable service fails the suite;
// elsewhere the suite is skipped with one loud line naming the service.
import { Socket } from 'node:net';

export const inCI = (): boolean => process.env.CI === 'true' || process.env.CI === '1';

export function reachable(host: string, port: number, timeoutMs = 1000): Promise<boolean> {
  return new Promise((resolve) => {
    const s = new Socket();
    const done = (ok: boolean) => {
      s.destroy();
      resolve(ok);
    };
    s.setTimeout(timeoutMs, () => done(false));
    s.once('error', () => done(false));
    s.connect(port, host, () => done(true));
  });
}

/**
 * Resolves true when the service answers. When it does not: throws in CI, otherwise prints
 * "SKIPPED: <service> ... unreachable" once and resolves false so the caller can skip.
 */
export async function requireService(name: string, host: string, port: number): Promise<boolean> {
  if (await reachable(host, port)) return true;
  const line = `${name} at ${host}:${port} is unreachable`;
  if (inCI()) throw new Error(`${line} (CI requires it)`);
  process.stderr.write(`\n!!! SKIPPED: ${line}; its tests are skipped. Start it to run them.\n\n`);
  return false;
}

/** Parses a MONGODB_URL-style gate: returns the URL or undefined (always a skip, even in CI). */
export function optionalEnv(name: string): string | undefined {
  const v = process.env[name];
  if (!v) process.stderr.write(`\n!!! SKIPPED: ${name} is not set; its tests are skipped.\n\n`);
  return v || undefined;
}
