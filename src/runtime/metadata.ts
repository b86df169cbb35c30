// Resolves a manifest's spec.metadata list into name -> string: value as is, envRef from the
// environment, secretKeyRef through a secret store (the secrets issue plugs a resolver in).
import type { MetadataItem } from './manifest';

export interface SecretResolver {
  /** Resolves secret `name`/`key` from `store`; throws when it can't. */
  resolve(store: string, name: string, key: string): Promise<string>;
}

export class MetadataResolveError extends Error {
  constructor(
    readonly index: number,
    message: string,
  ) {
    super(message);
  }
}

export async function resolveMetadata(
  items: MetadataItem[],
  opts: { env: NodeJS.ProcessEnv; secretStore?: string; secrets?: SecretResolver },
): Promise<Record<string, string>> {
  const out: Record<string, string> = {};
  for (const [i, m] of items.entries()) {
    if (m.secretKeyRef) {
      if (!opts.secretStore || !opts.secrets) {
        throw new MetadataResolveError(i, `secretKeyRef ${m.secretKeyRef.name} needs a secret store (auth.secretStore), and none is available`);
      }
      try {
        out[m.name] = await opts.secrets.resolve(opts.secretStore, m.secretKeyRef.name, m.secretKeyRef.key || m.secretKeyRef.name);
      } catch (e) {
        throw new MetadataResolveError(i, `secretKeyRef ${m.secretKeyRef.name}: ${(e as Error).message}`);
      }
    } else if (m.envRef !== undefined) {
      out[m.name] = opts.env[m.envRef] ?? '';
    } else {
      out[m.name] = m.value ?? '';
    }
  }
  return out;
}
