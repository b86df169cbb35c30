export * from './parse';
export * from './evaluate';
export { queryError } from './errors';
