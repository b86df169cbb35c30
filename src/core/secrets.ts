// The secrets building block, written once (daprd's universal GetSecret/GetBulkSecret): store
// lookup, access policy from the Configuration's spec.secrets.scopes, and error mapping.
import { errMessage, RuntimeError } from '../errors/runtime-error';
import type { SecretStore } from '../components/secretstores/types';
import type { CoreContext } from './context';

/** One entry of Configuration spec.secrets.scopes. */
export interface SecretScope {
  storeName: string;
  /** "allow" (default) or "deny", case-insensitive. */
  defaultAccess?: string;
  allowedSecrets?: string[];
  deniedSecrets?: string[];
}

export type SecretData = Record<string, string>;

export class SecretsCore {
  private scopes!: Map<string, SecretScope>;

  constructor(
    private readonly ctx: CoreContext,
    scopes: readonly SecretScope[] = [],
  ) {
    this.setScopes(scopes);
  }

  /** Configuration spec.secrets.scopes; hot reload replaces them as a whole. */
  setScopes(scopes: readonly SecretScope[]): void {
    this.scopes = new Map(scopes.map((s) => [s.storeName, s]));
  }

  async get(storeName: string, key: string, metadata: Record<string, string> = {}): Promise<SecretData> {
    const store = this.store(storeName);
    if (!this.isAllowed(storeName, key)) throw new RuntimeError('SECRET_PERMISSION_DENIED', key, storeName);
    try {
      return await store.getSecret({ name: key, metadata });
    } catch (e) {
      throw new RuntimeError('SECRET_GET', key, storeName, errMessage(e));
    }
  }

  /** Every secret of the store the policy allows; denied ones are left out silently, as daprd does. */
  async bulkGet(storeName: string, metadata: Record<string, string> = {}): Promise<Record<string, SecretData>> {
    const store = this.store(storeName);
    let all: Record<string, SecretData>;
    try {
      all = await store.bulkGetSecret(metadata);
    } catch (e) {
      throw new RuntimeError('SECRET_BULK_GET', storeName, errMessage(e));
    }
    const out: Record<string, SecretData> = {};
    for (const [name, data] of Object.entries(all)) if (this.isAllowed(storeName, name)) out[name] = data;
    return out;
  }

  store(storeName: string): SecretStore {
    const c = this.ctx.components.get('secretstores', storeName);
    if (c) return c.instance;
    if (this.ctx.components.count('secretstores') === 0) throw new RuntimeError('SECRET_STORES_NOT_CONFIGURED');
    throw new RuntimeError('SECRET_STORE_NOT_FOUND', storeName);
  }

  /** daprd's SecretsScope.IsSecretAllowed: an allow list wins, then the deny list, then the default. */
  isAllowed(storeName: string, key: string): boolean {
    const scope = this.scopes.get(storeName);
    if (!scope) return true;
    if (scope.allowedSecrets && scope.allowedSecrets.length > 0) return scope.allowedSecrets.includes(key);
    if (scope.deniedSecrets?.includes(key)) return false;
    return scope.defaultAccess?.toLowerCase() !== 'deny';
  }
}
