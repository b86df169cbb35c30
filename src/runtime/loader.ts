// Reads resource manifests from --resources-path directories the way daprd's disk loader does:
// each directory non-recursively, *.yaml/*.yml in name order, several documents per file.
// Every problem is reported as "file:line: field: reason".
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join } from 'node:path';
import { type Document, LineCounter, parseAllDocuments, isNode } from 'yaml';
import type { Logger } from 'pino';
import type { z } from 'zod';
import { componentSchema, type ComponentManifest, httpEndpointSchema, type HttpEndpointManifest, KNOWN_KINDS, resiliencySchema, type ResiliencyManifest, subscriptionSchema, type SubscriptionManifest } from './manifest';
import { meshProxySchema, type MeshProxyManifest } from '../mesh/proxy/config';
import { wasmFunctionSchema, type WasmFunctionManifest } from '../faas/spec';

export class ManifestError extends Error {
  constructor(
    readonly file: string,
    readonly line: number,
    readonly field: string,
    readonly reason: string,
  ) {
    super(`${file}:${line}: ${field ? `${field}: ` : ''}${reason}`);
    this.name = 'ManifestError';
  }
}

export interface LoadedComponent {
  manifest: ComponentManifest;
  file: string;
  line: number;
  /** Line of a field path inside this document, for errors found after validation. */
  lineOf: (path: (string | number)[]) => number;
}

export interface LoadedSubscription {
  manifest: SubscriptionManifest;
  file: string;
  line: number;
}

export interface LoadedResiliency {
  manifest: ResiliencyManifest;
  file: string;
  line: number;
  lineOf: (path: (string | number)[]) => number;
}

export interface LoadedHttpEndpoint {
  manifest: HttpEndpointManifest;
  file: string;
  line: number;
}

export interface LoadedMeshProxy {
  manifest: MeshProxyManifest;
  file: string;
  line: number;
  lineOf: (path: (string | number)[]) => number;
}

export interface LoadedFunction {
  manifest: WasmFunctionManifest;
  file: string;
  line: number;
}

export interface LoadResult {
  components: LoadedComponent[];
  /** kind: MeshProxy (the mesh proxy's listeners, routes and clusters). */
  meshProxies: LoadedMeshProxy[];
  /** kind: WasmFunction (a WebAssembly function run inside the sidecar). */
  functions: LoadedFunction[];
  httpEndpoints: LoadedHttpEndpoint[];
  subscriptions: LoadedSubscription[];
  resiliencies: LoadedResiliency[];
  /** Errors in manifests that set ignoreErrors: reported, not fatal. */
  ignored: ManifestError[];
}

export function listManifestFiles(dirs: string[]): string[] {
  const files: string[] = [];
  for (const dir of dirs) {
    let st;
    try {
      st = statSync(dir);
    } catch {
      throw new ManifestError(dir, 0, '', 'resources path does not exist');
    }
    if (!st.isDirectory()) throw new ManifestError(dir, 0, '', 'resources path is not a directory');
    for (const name of readdirSync(dir).sort()) {
      const ext = extname(name).toLowerCase();
      if ((ext === '.yaml' || ext === '.yml') && statSync(join(dir, name)).isFile()) files.push(join(dir, name));
    }
  }
  return files;
}

/** Loads every manifest; throws the first fatal ManifestError. */
export function loadResources(dirs: string[], log: Logger): LoadResult {
  const result: LoadResult = { components: [], meshProxies: [], functions: [], httpEndpoints: [], subscriptions: [], resiliencies: [], ignored: [] };
  for (const file of listManifestFiles(dirs)) loadFile(file, log, result);
  return result;
}

export function loadFile(file: string, log: Logger, result: LoadResult): void {
  const text = readFileSync(file, 'utf8');
  const counter = new LineCounter();
  const docs = parseAllDocuments(text, { lineCounter: counter, prettyErrors: false });
  if (!Array.isArray(docs)) return; // an empty stream
  for (const doc of docs) {
    const lineAt = (offset: number) => counter.linePos(offset).line;
    if (doc.errors.length > 0) {
      const err = doc.errors[0]!;
      throw new ManifestError(file, lineAt(err.pos[0]), '', `YAML syntax error: ${err.message.split('\n')[0]}`);
    }
    const value: unknown = doc.toJS();
    if (value === null || value === undefined) continue; // empty document between '---'
    const docLine = lineAt(doc.range[0]);
    const lineOf = (path: (string | number)[]) => lineOfPath(doc, path, lineAt, docLine);
    if (typeof value !== 'object' || Array.isArray(value)) {
      throw new ManifestError(file, docLine, '', 'a resource must be a YAML mapping with apiVersion, kind, metadata and spec');
    }
    const kind = (value as { kind?: unknown }).kind;
    if (kind === 'Subscription') {
      result.subscriptions.push({ manifest: validated(subscriptionSchema, value, file, lineOf), file, line: docLine });
      continue;
    }
    if (kind === 'Resiliency') {
      result.resiliencies.push({ manifest: validated(resiliencySchema, value, file, lineOf), file, line: docLine, lineOf });
      continue;
    }
    if (kind === 'MeshProxy') {
      result.meshProxies.push({ manifest: validated(meshProxySchema, value, file, lineOf), file, line: docLine, lineOf });
      continue;
    }
    if (kind === 'WasmFunction') {
      result.functions.push({ manifest: validated(wasmFunctionSchema, value, file, lineOf), file, line: docLine });
      continue;
    }
    if (kind === 'HTTPEndpoint') {
      result.httpEndpoints.push({ manifest: validated(httpEndpointSchema, value, file, lineOf), file, line: docLine });
      continue;
    }
    if (kind !== 'Component') {
      if (typeof kind === 'string' && KNOWN_KINDS.includes(kind)) {
        log.debug({ file, kind }, `skipping ${kind} resource: not handled yet`);
        continue;
      }
      throw new ManifestError(file, lineOf(['kind']), 'kind', `unknown resource kind ${JSON.stringify(kind ?? null)}`);
    }
    const parsed = componentSchema.safeParse(value);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      const err = new ManifestError(file, lineOf(issue.path as (string | number)[]), issue.path.join('.'), issue.message);
      if (ignoresErrors(value)) {
        result.ignored.push(err);
        continue;
      }
      throw err;
    }
    result.components.push({ manifest: parsed.data, file, line: docLine, lineOf });
  }
}

/** The manifest as its schema reads it; the first issue as a ManifestError at its line. */
function validated<S extends z.ZodType>(schema: S, value: unknown, file: string, lineOf: (path: (string | number)[]) => number): z.infer<S> {
  const r = schema.safeParse(value);
  if (r.success) return r.data;
  const issue = r.error.issues[0]!;
  throw new ManifestError(file, lineOf(issue.path as (string | number)[]), issue.path.join('.'), issue.message);
}

function ignoresErrors(value: object): boolean {
  const v = (value as { spec?: { ignoreErrors?: unknown } }).spec?.ignoreErrors;
  return v === true || v === 'true';
}

/** The line of the deepest existing node on the path (the parent when a field is missing). */
function lineOfPath(doc: Document, path: (string | number)[], lineAt: (o: number) => number, fallback: number): number {
  for (let n = path.length; n > 0; n--) {
    const node = doc.getIn(path.slice(0, n), true);
    if (isNode(node) && node.range) return lineAt(node.range[0]);
  }
  return fallback;
}
