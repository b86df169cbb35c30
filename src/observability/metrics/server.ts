// The Prometheus endpoint: daprd mounts its exporter on "/", so every path answers the scrape.
import { createServer, type Server } from 'node:http';
import type { Registry } from 'prom-client';

export async function serveMetrics(registry: Registry, host: string, port: number): Promise<Server> {
  const server = createServer((req, res) => {
    registry.metrics().then(
      (text) => {
        res.writeHead(200, { 'content-type': registry.contentType });
        res.end(req.method === 'HEAD' ? undefined : text);
      },
      (e: Error) => {
        res.writeHead(500, { 'content-type': 'text/plain' });
        res.end(e.message);
      },
    );
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', (e: Error) => reject(new Error(`metrics server cannot listen on ${host || '0.0.0.0'}:${port}: ${e.message}`)));
    server.listen(port, host || undefined, () => {
      server.removeAllListeners('error');
      resolve();
    });
  });
  return server;
}
