// Builds AssemblyScript functions for tests with the `assemblyscript` package's programmatic API
// (asc.main), offline. asc is ESM-only and jest runs CommonJS, so the compiler runs in a child Node
// process; its diagnostics become the error message.
import { execFile } from 'node:child_process';
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/** One build: entry file, output .wasm, extra asc flags. */
export type AscJob = [entryFile: string, outFile: string, flags?: string[]];

const SCRIPT = `
import asc from 'assemblyscript/asc';
for (const [entry, out, flags = []] of JSON.parse(process.argv[1])) {
  let log = '';
  const stream = { write: (s) => { log += s; return true; } };
  const { error } = await asc.main([entry, '--outFile', out, ...flags], { stdout: stream, stderr: stream });
  if (error) { process.stderr.write('asc ' + entry + ': ' + (log || String(error))); process.exit(1); }
}
`;

/** Compiles every job in one compiler process (asc loads once); rejects with asc's diagnostics. */
export function compileAssemblyScripts(jobs: AscJob[]): Promise<void> {
  return new Promise((resolve, reject) => {
    execFile(
      process.execPath,
      ['--input-type=module', '-e', SCRIPT, JSON.stringify(jobs)],
      { cwd: join(__dirname, '..'), timeout: 60_000 + jobs.length * 30_000 },
      (err, _stdout, stderr) => (err ? reject(new Error(stderr || err.message)) : resolve()),
    );
  });
}

/** Compiles `entryFile` to `outFile` (extra asc flags optional). */
export function compileAssemblyScript(entryFile: string, outFile: string, flags: string[] = []): Promise<void> {
  return compileAssemblyScripts([[entryFile, outFile, flags]]);
}

/** A fresh temporary directory for compiled guests. */
export function wasmTmpDir(): string {
  return mkdtempSync(join(tmpdir(), 'layotto-ts-wasm-'));
}
