#!/usr/bin/env node
// Entry point: parse daprd-style flags, start the sidecar, stop it on SIGTERM/SIGINT.
import { parseFlags } from './cli/flags';
import { createLogger } from './observability/logger';
import { ManifestError } from './runtime/loader';
import { RUNTIME_VERSION, startSidecar } from './runtime/sidecar';

async function main(): Promise<void> {
  const flags = parseFlags(process.argv.slice(2));
  const log = createLogger({ level: flags.logLevel, json: flags.logAsJson, appId: flags.appId, version: RUNTIME_VERSION });
  log.info(`starting layotto-ts runtime -- version ${RUNTIME_VERSION}`);
  let sidecar;
  try {
    sidecar = await startSidecar(flags, log);
  } catch (e) {
    const why = e instanceof ManifestError ? `invalid resource: ${e.message}` : (e as Error).message;
    log.fatal(`fatal error from runtime: ${why}`);
    log.flush?.();
    process.exitCode = 1;
    return;
  }
  const onSignal = (sig: string) => void sidecar.stop(`received ${sig}`);
  process.once('SIGTERM', () => onSignal('SIGTERM'));
  process.once('SIGINT', () => onSignal('SIGINT'));
  await sidecar.stopped;
  process.exit(0);
}

process.on('unhandledRejection', (e) => {
  // A bug, not a user error: report it without taking the sidecar down.
  process.stderr.write(`unhandled rejection: ${(e as Error)?.stack ?? String(e)}\n`);
});

void main();
