// The dashboard page: the first snapshot at once, then one per second from the sidecar's event
// stream (EventSource reconnects by itself; the status badge says whether it is live).
import { render } from './render';
import type { DashboardSnapshot } from '../../src/dashboard/types';
import './style.css';

const status = document.getElementById('status')!;
const setStatus = (text: string, cls: string) => {
  status.textContent = text;
  status.className = `status ${cls}`;
};

fetch('api/snapshot')
  .then((r) => r.json() as Promise<DashboardSnapshot>)
  .then(render)
  .catch(() => setStatus('unreachable', 'down'));

const stream = new EventSource('api/stream');
stream.onopen = () => setStatus('live', 'live');
stream.onerror = () => setStatus('disconnected', 'down');
stream.onmessage = (e: MessageEvent<string>) => render(JSON.parse(e.data) as DashboardSnapshot);
