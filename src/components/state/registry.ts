import { Registry } from '../registry';
import type { StateStore } from './types';

export const stateRegistry = new Registry<StateStore>('state');
