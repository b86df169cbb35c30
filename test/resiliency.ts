// A Resiliency provider built the way the sidecar builds one (a resource file on disk, the loader,
// buildResiliency), from the body of one resource's `spec:`.
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { buildResiliency } from '../src/config/resiliency';
import type { ResiliencyProvider } from '../src/core/resiliency/provider';
import { loadResources } from '../src/runtime/loader';

export function resiliencyFrom(spec: string, appId = 'me'): ResiliencyProvider {
  const log = pino({ level: 'silent' });
  const d = mkdtempSync(join(tmpdir(), 'resiliency-'));
  writeFileSync(join(d, 'r.yaml'), `apiVersion: dapr.io/v1alpha1\nkind: Resiliency\nmetadata:\n  name: r\nspec:\n${spec}`);
  return buildResiliency(loadResources([d], log).resiliencies, appId, log);
}
