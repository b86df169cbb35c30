// The secret store contract (after components-contrib's secretstores.SecretStore).
import type { Component } from '../types';

export const SecretStoreFeature = {
  MULTIPLE_KEY_VALUES_PER_SECRET: 'MULTIPLE_KEY_VALUES_PER_SECRET',
} as const;

export interface GetSecretRequest {
  name: string;
  metadata: Record<string, string>;
}

export interface SecretStore extends Component {
  /** The secret's key/value pairs; throws SecretNotFoundError when it does not exist. */
  getSecret(req: GetSecretRequest): Promise<Record<string, string>>;
  /** Every secret: name -> its key/value pairs. */
  bulkGetSecret(metadata: Record<string, string>): Promise<Record<string, Record<string, string>>>;
}

export class SecretNotFoundError extends Error {
  constructor(readonly secret: string) {
    super(`secret ${secret} not found`);
    this.name = 'SecretNotFoundError';
  }
}
