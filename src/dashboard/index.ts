export { type Dashboard, loadDashboard, startDashboard } from './server';
export { TrafficRecorder } from './recorder';
export { snapshotter } from './snapshot';
export type { DashboardSnapshot } from './types';
