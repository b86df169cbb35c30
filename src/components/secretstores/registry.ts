import { Registry } from '../registry';
import type { SecretStore } from './types';

export const secretStoreRegistry = new Registry<SecretStore>('secretstores');
