import { Registry } from '../registry';
import type { ConfigurationStore } from './types';

export const configurationRegistry = new Registry<ConfigurationStore>('configuration');
