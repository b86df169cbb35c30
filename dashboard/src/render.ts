// Renders one snapshot into the page's panels. Values go in as text (never HTML): routes, topics
// and error messages come from requests and configuration.
import type { DashboardSnapshot, ProxyView } from '../../src/dashboard/types';

type Cell = string | number | { text: string | number; cls?: string };

function tbody(panel: string): HTMLTableSectionElement {
  return document.querySelector<HTMLTableSectionElement>(`[data-testid="${panel}"] tbody`)!;
}

/** Replaces a panel's rows; an empty list shows one "none" row. */
function fill(panel: string, rows: Cell[][], numeric: number[] = []): void {
  const body = tbody(panel);
  const columns = body.parentElement!.querySelectorAll('th').length;
  const trs = rows.map((cells) => {
    const tr = document.createElement('tr');
    cells.forEach((c, i) => {
      const td = document.createElement('td');
      const cell = typeof c === 'object' ? c : { text: c };
      td.textContent = String(cell.text);
      if (cell.cls) td.className = cell.cls;
      if (numeric.includes(i)) td.classList.add('n');
      tr.append(td);
    });
    return tr;
  });
  if (trs.length === 0) {
    const tr = document.createElement('tr');
    const td = document.createElement('td');
    td.colSpan = columns;
    td.className = 'empty';
    td.textContent = 'none';
    tr.append(td);
    trs.push(tr);
  }
  body.replaceChildren(...trs);
}

const ms = (n: number) => n.toFixed(n < 10 ? 2 : 1);
const time = (iso: string) => (iso ? new Date(iso).toLocaleTimeString() : '');

function proxyRoutes(p: ProxyView | null): Cell[][] {
  if (!p) return [];
  return p.listeners.flatMap((l) => {
    const routes = l.routes.length > 0 ? l.routes : [{ name: `(${l.protocol})`, cluster: l.cluster ?? '' }];
    return routes.map((r) => [l.name, l.address, r.name, r.cluster, l.filters.join(', '), l.stats.requests ?? l.stats.connections ?? 0]);
  });
}

function proxyClusters(p: ProxyView | null): Cell[][] {
  if (!p) return [];
  return p.clusters.map((c) => {
    const endpoints = c.appId !== undefined ? `app ${c.appId}` : c.endpoints.map((e) => `${e.address} (${e.ejectedUntil ? 'ejected' : e.health})`).join(', ');
    return [c.name, endpoints, String(c.stats.requests), String(c.stats.active), String(c.stats.retries), String(c.stats.ejections)];
  });
}

export function render(s: DashboardSnapshot): void {
  document.getElementById('app-id')!.textContent = s.appId || '(no app id)';
  document.getElementById('runtime-version')!.textContent = `layotto-ts ${s.runtimeVersion}`;
  document.getElementById('updated')!.textContent = `updated ${time(s.time)}`;
  fill(
    'panel-components',
    s.components.map((c) => [c.kind, c.name, c.type, c.version, { text: c.reason ? `${c.health}: ${c.reason}` : c.health, cls: c.health }, c.capabilities.join(', ')]),
  );
  fill(
    'panel-subscriptions',
    s.subscriptions.map((x) => [x.pubsubname, x.topic, (x.rules ?? []).map((r) => (r.match ? `${r.match} → ${r.path}` : r.path)).join('; '), x.deadLetterTopic ?? '', x.type]),
  );
  fill(
    'panel-traffic',
    [...s.routes].sort((a, b) => b.count - a.count).map((r) => [r.api, r.route, r.count, r.rate.toFixed(1), ms(r.p50), ms(r.p99), r.errors]),
    [2, 3, 4, 5, 6],
  );
  fill('panel-proxy-routes', proxyRoutes(s.proxy), [5]);
  fill('panel-proxy-clusters', proxyClusters(s.proxy), [2, 3, 4, 5]);
  fill('panel-rejections', s.rejections.map((r) => [r.api, r.route, r.filter, r.count, time(r.last)]), [3]);
  fill('panel-errors', s.errors.map((e) => [time(e.time), e.api, e.route, e.status, e.code, e.message]));
}
