#!/usr/bin/env node
// Entry point: parse daprd-style flags (or Layotto's `start -c config.json`), start the sidecar, stop it on SIGTERM/SIGINT.
import { parseFlags } from './cli/flags';
import { createLogger } from './observability/logger';
import { ManifestError } from './runtime/loader';
import { RUNTIME_VERSION, startSidecar } from './runtime/sidecar';
import { type LayottoConfig, loadLayottoConfig, withLayottoConfig } from './runtime/layotto-config';

async function main(): Promise<void> {
  const cli = parseFlags(process.argv.slice(2));
  // Layotto's config.json (`start -c`) can set the app id, so it is read before the logger exists.
  let layotto: LayottoConfig | undefined;
  let configError: unknown;
  try {
    layotto = cli.layottoConfig ? loadLayottoConfig(cli.layottoConfig.file) : undefined;
  } catch (e) {
    configError = e;
  }
  const flags = layotto ? withLayottoConfig(cli, layotto) : cli;
  const log = createLogger({ level: flags.logLevel, json: flags.logAsJson, appId: flags.appId, version: RUNTIME_VERSION });
  log.info(`starting layotto-ts runtime -- version ${RUNTIME_VERSION}`);
  let sidecar;
  try {
    if (configError) throw configError;
    for (const note of layotto?.notes ?? []) log.info(`${layotto!.file}: ${note}`);
    for (const warning of layotto?.warnings ?? []) log.warn(warning);
    sidecar = await startSidecar(flags, log, layotto);
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
