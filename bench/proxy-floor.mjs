// The floor of any Node.js proxy on this machine, for bench/proxy.mjs (argv: port upstreamPort):
// raw sockets both ways, requests read whole from one chunk, forwarded with x-forwarded-for added,
// answers relayed byte for byte (Content-Length framing only) over pooled keep-alive upstream
// connections. No routing, no streams, no promises, no filters, no error handling: not a proxy
// anyone should run, only what the event loop, the sockets and V8 cost per request, so the
// report can tell how much of the gap to nginx is Node itself and how much the mesh proxy.
import { connect, createServer } from 'node:net';

const [port, upstreamPort] = process.argv.slice(2).map(Number);
const CRLF2 = Buffer.from('\r\n\r\n');
const idle = [];

function upstream() {
  const pooled = idle.pop();
  if (pooled) return pooled;
  const conn = { socket: connect({ host: '127.0.0.1', port: upstreamPort, noDelay: true }), down: null, need: -1 };
  conn.socket.on('data', (b) => {
    let from = 0;
    if (conn.need === -1) {
      const end = b.indexOf(CRLF2);
      const head = b.toString('latin1', 0, end).toLowerCase();
      conn.need = parseInt(head.slice(head.indexOf('\ncontent-length:') + 16), 10);
      from = end + 4;
    }
    conn.need -= b.length - from;
    conn.down.write(b);
    if (conn.need === 0) {
      conn.need = -1;
      conn.down = null;
      idle.push(conn);
    }
  });
  return conn;
}

createServer({ noDelay: true }, (down) => {
  down.on('error', () => down.destroy());
  down.on('data', (b) => {
    const head = b.toString('latin1', 0, b.indexOf(CRLF2));
    const conn = upstream();
    conn.down = down;
    conn.socket.write(`${head}\r\nx-forwarded-for: ${down.remoteAddress}\r\n\r\n`, 'latin1');
  });
}).listen(port, '127.0.0.1', () => process.stdout.write('listening\n'));
process.on('SIGTERM', () => process.exit(0));
