import { Registry } from '../registry';
import type { LockStore } from './types';

export const lockRegistry = new Registry<LockStore>('lock');
