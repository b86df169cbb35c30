import { Registry } from '../registry';
import type { FileStore } from './types';

export const fileRegistry = new Registry<FileStore>('file');
