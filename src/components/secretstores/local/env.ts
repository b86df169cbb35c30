// secretstores.local.env (components-contrib secretstores/local/env): secrets are the sidecar's
// environment variables. `prefix` is prepended on get and stripped from the names bulk get lists.
// DAPR_* variables and APP_API_TOKEN are never readable. A variable that is not set reads as "",
// not as an error (contrib's behaviour).
import { z } from 'zod';
import { parseMetadata } from '../../metadata';
import type { ComponentMetadata } from '../../types';
import type { GetSecretRequest, SecretStore } from '../types';

const schema = z.object({ prefix: z.string().default('') });

export class LocalEnvSecretStore implements SecretStore {
  private prefix = '';

  constructor(private readonly env: NodeJS.ProcessEnv = process.env) {}

  async init(md: ComponentMetadata): Promise<void> {
    this.prefix = parseMetadata(schema, md.properties).prefix;
  }

  features(): readonly string[] {
    return [];
  }

  async getSecret(req: GetSecretRequest): Promise<Record<string, string>> {
    const name = this.prefix + req.name;
    return { [req.name]: isAllowed(name) ? (this.env[name] ?? '') : '' };
  }

  async bulkGetSecret(): Promise<Record<string, Record<string, string>>> {
    const out: Record<string, Record<string, string>> = {};
    const p = this.prefix;
    for (const [key, value] of Object.entries(this.env)) {
      if (value === undefined || !isAllowed(key)) continue;
      if (p && (key.length <= p.length || !key.startsWith(p))) continue;
      const name = key.slice(p.length);
      out[name] = { [name]: value };
    }
    return out;
  }

  async close(): Promise<void> {}
}

function isAllowed(name: string): boolean {
  const upper = name.toUpperCase();
  return upper !== 'APP_API_TOKEN' && !upper.startsWith('DAPR_');
}
