// The target app of the invocation benchmark, run as its own process (argv: port, body bytes).
// A bare node:http server: any request except /dapr/* is read to the end and answered 200 with the
// same small text body; /dapr/* (the sidecar's startup probes for subscriptions and config) is 404.
import { createServer } from 'node:http';

const [port, size = '100'] = process.argv.slice(2);
const body = Buffer.alloc(Number(size), 'x');

const server = createServer((req, res) => {
  req.resume();
  req.on('end', () => {
    if (req.url.startsWith('/dapr/')) return void res.writeHead(404).end();
    res.writeHead(200, { 'content-type': 'text/plain', 'content-length': body.length }).end(body);
  });
});
server.keepAliveTimeout = 60_000;
server.listen(Number(port), '127.0.0.1');
process.on('SIGTERM', () => {
  server.closeAllConnections();
  server.close(() => process.exit(0));
});
