// secretstores.local.file (components-contrib secretstores/local/file): secrets from a JSON file,
// read once at init. Nested objects and arrays are flattened into one level of names joined with
// nestedSeparator ("db:password", "hosts:0"). With multiValued, each top-level key is a secret and
// its (flattened) object is that secret's key/value pairs; top-level strings stay single-valued.
import { readFile } from 'node:fs/promises';
import { z } from 'zod';
import { parseMetadata } from '../../metadata';
import { ComponentConfigError, type ComponentMetadata } from '../../types';
import { type GetSecretRequest, SecretNotFoundError, type SecretStore, SecretStoreFeature } from '../types';

const schema = z.object({
  secretsFile: z.string({ error: 'missing local secrets file in metadata' }),
  nestedSeparator: z.string().default(':'),
  multiValued: z.stringbool().default(false),
});

type Secret = string | Record<string, string>;

export class LocalFileSecretStore implements SecretStore {
  private secrets = new Map<string, Secret>();
  private multiValued = false;

  async init(md: ComponentMetadata): Promise<void> {
    const cfg = parseMetadata(schema, md.properties);
    let doc: unknown;
    try {
      doc = JSON.parse(await readFile(cfg.secretsFile, 'utf8'));
    } catch (e) {
      throw new ComponentConfigError(`cannot read secrets file ${cfg.secretsFile}: ${(e as Error).message}`, 'secretsFile');
    }
    if (!isObject(doc)) throw new ComponentConfigError(`secrets file ${cfg.secretsFile} must hold a JSON object`, 'secretsFile');
    this.multiValued = cfg.multiValued;
    this.secrets = new Map();
    if (!cfg.multiValued) {
      for (const [k, v] of Object.entries(flatten(doc, cfg.nestedSeparator))) this.secrets.set(k, v);
      return;
    }
    for (const [k, v] of Object.entries(doc)) {
      // As contrib: only strings and objects are secrets at the top level of a multi-valued file.
      if (typeof v === 'string') this.secrets.set(k, v);
      else if (isObject(v)) this.secrets.set(k, flatten(v, cfg.nestedSeparator));
    }
  }

  features(): readonly string[] {
    return this.multiValued ? [SecretStoreFeature.MULTIPLE_KEY_VALUES_PER_SECRET] : [];
  }

  async getSecret(req: GetSecretRequest): Promise<Record<string, string>> {
    const v = this.secrets.get(req.name);
    if (v === undefined) throw new SecretNotFoundError(req.name);
    return pairs(req.name, v);
  }

  async bulkGetSecret(): Promise<Record<string, Record<string, string>>> {
    const out: Record<string, Record<string, string>> = {};
    for (const [k, v] of this.secrets) out[k] = pairs(k, v);
    return out;
  }

  async close(): Promise<void> {
    this.secrets.clear();
  }
}

const pairs = (name: string, v: Secret): Record<string, string> => (typeof v === 'string' ? { [name]: v } : { ...v });

function isObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** {"a":{"b":"x"},"l":["y"]} -> {"a:b":"x","l:0":"y"}; scalars as their JSON text, null as "". */
function flatten(obj: Record<string, unknown>, sep: string): Record<string, string> {
  const out: Record<string, string> = {};
  const visit = (path: string[], v: unknown): void => {
    if (Array.isArray(v)) v.forEach((item, i) => visit([...path, String(i)], item));
    else if (isObject(v)) for (const [k, item] of Object.entries(v)) visit([...path, k], item);
    else {
      const name = path.join(sep);
      // {"a:b": 1, "a": {"b": 2}} collides; daprd silently stops reading the file there.
      if (name in out) throw new ComponentConfigError(`duplicate secret name "${name}" after flattening the secrets file`, 'secretsFile');
      out[name] = v === null ? '' : String(v);
    }
  };
  visit([], obj);
  return out;
}
