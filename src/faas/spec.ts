// Function declarations, in the three shapes users write them, each turned into one FunctionSpec:
// Layotto's install/update/uninstall bodies (also the entries of its `Layotto` stream filter in
// config.json) and this runtime's WasmFunction resource YAML. Relative wasm paths resolve against
// the working directory (Layotto's rule) or, in YAML, against the manifest's own directory.
import { dirname, resolve } from 'node:path';
import { z } from 'zod';
import { durationMs } from '../components/metadata';
import type { FunctionSpec } from './types';

/** Function ids travel in the `id` header and as an app id in /v1.0/invoke/<id>/...: no '.', '/' or spaces. */
export const functionId = z
  .string({ error: 'expected a string' })
  .min(1, 'must not be empty')
  .max(128, 'must be at most 128 characters')
  .regex(/^[A-Za-z0-9]([A-Za-z0-9_-]*[A-Za-z0-9])?$/, 'must be letters, digits, "-" or "_", starting and ending with a letter or digit');

const instances = z.number({ error: 'expected a number' }).int('must be an integer');
const memoryMiB = z.number({ error: 'expected a number' }).int('must be an integer').min(1, 'must be at least 1').max(4096, 'must be at most 4096 (a wasm32 memory is 4 GiB)');
/** A Go duration ("2s", "500ms") or a number of milliseconds. */
const timeout = z.union([z.number({ error: 'expected a duration' }).int().positive('must be positive'), durationMs()], { error: 'expected a duration such as "5s" or milliseconds' });

/** Keys of a Layotto entry that are not plugin configuration. */
const LAYOTTO_KEYS = ['name', 'instance_num', 'vm_config', 'timeout', 'memory_mib', 'root_context_id', 'from_wasm_plugin'];

/**
 * Layotto's /wasm/install body and config.json entry: `name`, `instance_num`, `vm_config.{engine,
 * path}`; ours: `timeout` and `memory_mib`. Other string keys are the plugin configuration, as in
 * Layotto. `from_wasm_plugin` (a MOSN-declared plugin) has no meaning here and is refused.
 */
export const layottoFunctionSchema = z
  .looseObject(
    {
      name: functionId,
      instance_num: instances.optional(),
      vm_config: z.looseObject({ engine: z.string({ error: 'expected a string' }).optional(), path: z.string({ error: 'expected a string' }).min(1, 'must not be empty') }, { error: 'expected an object with "path"' }),
      timeout: timeout.optional(),
      memory_mib: memoryMiB.optional(),
      root_context_id: z.number().optional(),
      from_wasm_plugin: z.undefined({ error: 'MOSN wasm plugins are not supported; give vm_config.path' }).optional(),
    },
    { error: 'expected an object' },
  )
  .superRefine((v, ctx) => {
    for (const [k, x] of Object.entries(v)) {
      if (!LAYOTTO_KEYS.includes(k) && typeof x !== 'string') ctx.addIssue({ code: 'custom', path: [k], message: 'plugin configuration values must be strings' });
    }
  });

/** /wasm/update: the name and a new instance count and/or module path. */
export const layottoUpdateSchema = z
  .object(
    {
      name: functionId,
      instance_num: instances.optional(),
      vm_config: z.looseObject({ engine: z.string().optional(), path: z.string({ error: 'expected a string' }).min(1, 'must not be empty').optional() }, { error: 'expected an object' }).optional(),
      timeout: timeout.optional(),
      memory_mib: memoryMiB.optional(),
    },
    { error: 'expected an object' },
  )
  .refine((v) => v.instance_num !== undefined || v.vm_config?.path !== undefined || v.timeout !== undefined || v.memory_mib !== undefined, { message: 'nothing to update: give instance_num, vm_config.path, timeout or memory_mib' });

export const layottoUninstallSchema = z.object({ name: functionId }, { error: 'expected an object' });

export function fromLayottoEntry(v: z.infer<typeof layottoFunctionSchema>, baseDir = process.cwd()): FunctionSpec {
  const config: Record<string, string> = {};
  for (const [k, x] of Object.entries(v)) if (!LAYOTTO_KEYS.includes(k) && typeof x === 'string') config[k] = x;
  return {
    id: v.name,
    path: resolve(baseDir, v.vm_config.path),
    instances: v.instance_num ?? 1,
    limits: limitsOf(v.timeout, v.memory_mib),
    ...(Object.keys(config).length > 0 && { config }),
  };
}

export function fromLayottoUpdate(v: z.infer<typeof layottoUpdateSchema>, baseDir = process.cwd()): Partial<FunctionSpec> & { id: string } {
  return {
    id: v.name,
    ...(v.instance_num !== undefined && { instances: v.instance_num }),
    ...(v.vm_config?.path !== undefined && { path: resolve(baseDir, v.vm_config.path) }),
    ...((v.timeout !== undefined || v.memory_mib !== undefined) && { limits: limitsOf(v.timeout, v.memory_mib) }),
  };
}

function limitsOf(timeoutMs: number | undefined, memory: number | undefined): FunctionSpec['limits'] {
  if (timeoutMs === undefined && memory === undefined) return undefined;
  return { ...(timeoutMs !== undefined && { timeoutMs }), ...(memory !== undefined && { memoryMiB: memory }) };
}

/** kind: WasmFunction (apiVersion layotto.io/v1): one function, for --resources-path users. */
export const wasmFunctionSchema = z.object({
  apiVersion: z.string().min(1),
  kind: z.literal('WasmFunction'),
  metadata: z.object({ name: functionId, namespace: z.string().optional() }),
  spec: z.object({
    path: z.string({ error: 'expected the path of a .wasm file' }).min(1, 'must not be empty'),
    instances: instances.optional().default(1),
    timeout: timeout.optional(),
    memoryMiB: memoryMiB.optional(),
    config: z
      .record(z.string(), z.union([z.string(), z.number(), z.boolean()]).transform(String))
      .nullish()
      .transform((c) => c ?? {}),
  }),
  scopes: z.array(z.string()).nullish().transform((v) => v ?? []),
});
export type WasmFunctionManifest = z.infer<typeof wasmFunctionSchema>;

/** A WasmFunction resource as a FunctionSpec; its path is relative to the manifest's directory. */
export function fromManifest(m: WasmFunctionManifest, file: string): FunctionSpec {
  return {
    id: m.metadata.name,
    path: resolve(dirname(file), m.spec.path),
    instances: m.spec.instances,
    limits: limitsOf(m.spec.timeout, m.spec.memoryMiB),
    ...(Object.keys(m.spec.config).length > 0 && { config: m.spec.config }),
  };
}
