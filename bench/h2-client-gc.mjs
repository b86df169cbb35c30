// What Node's own HTTP/2 streams cost the young generation, apart from the sidecar: one process
// makes N sequential POSTs over one HTTP/2 session to a bare node:http2 server in another, both
// run with --trace-gc-nvp, and this prints each side's scavenges, their average pause and the
// bytes each scavenge promoted. A request path that keeps nothing should promote ~0; the invocation
// benchmark's caller sidecar is an HTTP/2 client of this kind (bench/RESULTS-invoke.md, "The tail").
//   node bench/h2-client-gc.mjs [requests=40000]
import { spawn } from 'node:child_process';
import http2 from 'node:http2';
import { fileURLToPath } from 'node:url';

const [role, arg] = process.argv.slice(2);

if (role === 'server') {
  const s = http2.createServer();
  s.on('stream', (st) => {
    st.on('error', () => undefined);
    st.respond({ ':status': 200 });
    st.end('x'.repeat(100));
  });
  s.listen(0, '127.0.0.1', () => process.stderr.write(`port ${s.address().port}\n`));
} else if (role === 'client') {
  const [port, total] = arg.split(':').map(Number);
  const session = http2.connect(`http://127.0.0.1:${port}`);
  let n = 0;
  const one = () => {
    const req = session.request({ ':path': '/x', ':method': 'POST' });
    req.on('data', () => undefined);
    req.on('error', (e) => {
      process.stderr.write(`request ${n}: ${e.message}\n`);
      process.exit(1);
    });
    // The next request once this stream has closed, its listeners dropped (as the sidecar does).
    req.once('close', () => {
      req.removeAllListeners();
      if (++n < total) setImmediate(one);
      else session.close();
    });
    req.end(Buffer.alloc(200));
  };
  one();
} else {
  const total = Number(role ?? 40000);
  const self = fileURLToPath(import.meta.url);
  const run = (args, onStderr) => {
    const p = spawn(process.execPath, ['--trace-gc-nvp', self, ...args], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    p.stdout.on('data', (d) => (out += d));
    p.stderr.on('data', (d) => onStderr?.(String(d)));
    return { p, out: () => out, done: new Promise((r) => p.once('exit', r)) };
  };
  const summary = (name, text) => {
    const rows = text.split('\n').filter((l) => l.includes(' gc=s '));
    const field = (l, k) => Number(l.match(new RegExp(`\\b${k}=([0-9.]+)`))?.[1] ?? 0);
    const pause = rows.reduce((s, l) => s + field(l, 'pause'), 0);
    const promoted = rows.reduce((s, l) => s + field(l, 'promoted'), 0);
    const avg = (x) => (rows.length ? x / rows.length : 0);
    console.log(`${name}: ${rows.length} scavenges, average pause ${avg(pause).toFixed(2)} ms, promoted per scavenge ${(avg(promoted) / 1e6).toFixed(2)} MB (${((promoted / total) / 1024).toFixed(2)} KiB per request)`);
  };
  const port = await new Promise((resolve) => {
    const server = run(['server'], (s) => {
      const m = s.match(/port (\d+)/);
      if (m) resolve({ server, port: Number(m[1]) });
    });
  });
  const client = run(['client', `${port.port}:${total}`], (s) => process.stderr.write(s));
  const t0 = Date.now();
  await client.done;
  const secs = (Date.now() - t0) / 1000;
  port.server.p.kill('SIGTERM');
  await port.server.done;
  console.log(`node ${process.version}, ${total} sequential requests over one HTTP/2 session in ${secs.toFixed(1)} s`);
  summary('client (node:http2 connect/request)', client.out());
  summary('server (node:http2 createServer)', port.server.out());
}
