// A lean HTTP/1.1 keep-alive load generator for the proxy benchmark (bench/proxy.mjs), run as its
// own process (forked; one job over IPC) with one or more worker threads. It writes one request
// prebuilt as bytes on raw sockets and reads answers with a minimal parser (status line,
// content-length or chunked), so a request costs the generator a few microseconds: far less than
// nginx or the proxy spend on it. Each thread reports its event-loop utilisation: near 1 means the
// generator itself was the limit and the run says so.
//   closed: `connections` loops, each sending its next request when the previous answer ends.
//   open:   `rate` requests per second on a fixed schedule over `connections` sockets; latency is
//           taken from the scheduled time, so a stalled server is not hidden (no coordinated omission).
// Anything but a 200 is an error. Every request is bounded by TIMEOUT_MS.
import { connect } from 'node:net';
import { createHistogram, performance } from 'node:perf_hooks';
import { isMainThread, parentPort, Worker, workerData } from 'node:worker_threads';

const TIMEOUT_MS = 5000;
const CRLF2 = Buffer.from('\r\n\r\n');
const now = () => process.hrtime.bigint();

/** The request as bytes: GET with a Host header (what routes it) and nothing else but keep-alive. */
export function requestBytes({ path = '/', host = 'localhost', headers = {} }) {
  const extra = Object.entries(headers).map(([k, v]) => `${k}: ${v}\r\n`).join('');
  return Buffer.from(`GET ${path} HTTP/1.1\r\nHost: ${host}\r\n${extra}\r\n`, 'latin1');
}

/**
 * Reads HTTP/1.1 answers off one socket. feed(chunk) returns how many answers completed; status
 * of the last one is in .status. Handles answers split across chunks and chunked bodies.
 */
class ResponseReader {
  head = null; // pending header bytes (only when a header spans chunks)
  need = -1; // body bytes still to come; -1: reading a header; -2: chunked
  chunkBuf = null; // chunked: pending bytes not yet parsed
  status = 0;

  feed(chunk) {
    let done = 0;
    let buf = chunk;
    let i = 0;
    while (i < buf.length) {
      if (this.need === -1) {
        if (this.head) {
          buf = Buffer.concat([this.head, buf.subarray(i)]);
          this.head = null;
          i = 0;
        }
        const end = buf.indexOf(CRLF2, i);
        if (end < 0) {
          this.head = Buffer.from(buf.subarray(i));
          return done;
        }
        this.status = (buf[i + 9] - 48) * 100 + (buf[i + 10] - 48) * 10 + (buf[i + 11] - 48);
        const head = buf.latin1Slice(i, end).toLowerCase();
        i = end + 4;
        const cl = head.indexOf('\ncontent-length:');
        if (cl >= 0) this.need = parseInt(head.slice(cl + 16), 10);
        else if (head.includes('\ntransfer-encoding: chunked')) {
          this.need = -2;
          this.chunkBuf = null;
        } else this.need = 0; // 204/304 or no body: nothing else is sent on a keep-alive socket
        if (this.need === 0) {
          this.need = -1;
          done++;
        }
      } else if (this.need === -2) {
        const rest = this.chunkBuf ? Buffer.concat([this.chunkBuf, buf.subarray(i)]) : buf.subarray(i);
        const used = chunkedEnd(rest);
        if (used < 0) {
          this.chunkBuf = Buffer.from(rest);
          return done;
        }
        this.chunkBuf = null;
        this.need = -1;
        done++;
        buf = rest;
        i = used;
      } else {
        const take = Math.min(this.need, buf.length - i);
        this.need -= take;
        i += take;
        if (this.need === 0) {
          this.need = -1;
          done++;
        }
      }
    }
    return done;
  }
}

/** Offset just past a complete chunked body at the start of buf, or -1 if it is not all there. */
function chunkedEnd(buf) {
  let i = 0;
  for (;;) {
    const eol = buf.indexOf('\r\n', i);
    if (eol < 0) return -1;
    const size = parseInt(buf.latin1Slice(i, eol), 16);
    if (size === 0) {
      // Last chunk: skip trailers up to the empty line.
      const end = buf.indexOf(CRLF2, eol - 2 < i ? i : eol);
      return end < 0 ? -1 : end + 4;
    }
    i = eol + 2 + size + 2;
    if (i > buf.length) return -1;
  }
}

// ---- worker thread: drives its share of connections ----

async function runThread({ host, port, request, connections, warmupMs, durationMs, rate }) {
  const req = Buffer.from(request);
  const hist = createHistogram({ lowest: 1, highest: 60_000_000_000, figures: 3 });
  const t0 = now();
  const warmEnd = t0 + BigInt(warmupMs) * 1_000_000n;
  const end = warmEnd + BigInt(durationMs) * 1_000_000n;
  let ok = 0;
  let errors = 0;
  let firstError;
  let elu0;
  const fail = (msg) => {
    if (now() >= warmEnd) errors++;
    firstError ??= msg;
  };
  // Open loop: the schedule is a queue of due times; any idle socket takes the oldest.
  const intervalNs = rate ? 1e9 / rate : 0;
  let scheduled = 0;
  const queue = [];
  const idle = [];

  const conns = [];
  function open() {
    const c = { sock: connect({ host, port, noDelay: true }), reader: new ResponseReader(), sentAt: 0n, busy: false, timer: null };
    c.sock.on('data', (chunk) => {
      let n = c.reader.feed(chunk);
      while (n-- > 0) {
        const t = now();
        if (c.sentAt >= warmEnd && t < end + BigInt(TIMEOUT_MS) * 1_000_000n) {
          if (c.reader.status === 200) {
            ok++;
            hist.record(Number(t - c.sentAt) || 1);
          } else fail(`status ${c.reader.status}`);
        }
        c.busy = false;
        next(c, t);
      }
    });
    c.sock.on('error', (e) => fail(e.message));
    c.sock.on('close', () => {
      if (c.busy) fail('connection closed mid-answer');
      c.busy = false;
      c.closed = true;
    });
    conns.push(c);
    return c;
  }
  function send(c, from) {
    c.busy = true;
    c.sentAt = from;
    c.sock.write(req);
  }
  function next(c, t) {
    if (t >= end) return void c.sock.end();
    if (!rate) return send(c, t);
    if (queue.length > 0) return send(c, queue.shift());
    idle.push(c);
  }
  await Promise.all(Array.from({ length: connections }, () => new Promise((res, rej) => open().sock.once('connect', res).once('error', rej))));
  const measure = setTimeout(() => (elu0 = performance.eventLoopUtilization()), warmupMs);
  // Stuck requests: an answer that takes more than TIMEOUT_MS is an error and its socket is dropped.
  const watchdog = setInterval(() => {
    const t = now();
    for (const c of conns) if (c.busy && t - c.sentAt > BigInt(TIMEOUT_MS) * 1_000_000n) {
      c.busy = false;
      fail(`no answer in ${TIMEOUT_MS} ms`);
      c.sock.destroy();
    }
  }, 250);
  if (!rate) for (const c of conns) send(c, now());
  else {
    idle.push(...conns);
    await new Promise((res) => {
      const tick = setInterval(() => {
        const t = now();
        while (t0 + BigInt(Math.round(scheduled * intervalNs)) <= t) {
          const due = t0 + BigInt(Math.round(scheduled++ * intervalNs));
          if (due >= end) {
            clearInterval(tick);
            for (const c of idle) c.sock.end();
            return res();
          }
          let c = idle.pop();
          while (c && c.closed) c = idle.pop();
          if (c) send(c, due);
          else queue.push(due);
        }
      }, 1);
    });
  }
  while (conns.some((c) => c.busy && !c.closed) && now() < end + BigInt(TIMEOUT_MS) * 1_000_000n) await new Promise((r) => setTimeout(r, 20));
  clearTimeout(measure);
  clearInterval(watchdog);
  const elu = elu0 ? performance.eventLoopUtilization(elu0).utilization : NaN;
  for (const c of conns) c.sock.destroy();
  const unsent = queue.filter((d) => d >= warmEnd).length;
  if (unsent > 0) firstError ??= `${unsent} requests never sent: every connection was busy until the end`;
  return { ok, errors: errors + unsent, firstError, hist, elu };
}

if (!isMainThread) {
  runThread(workerData).then((r) => parentPort.postMessage(r), (e) => parentPort.postMessage({ fatal: String(e?.stack ?? e) }));
}

// ---- process: splits the job over threads and merges their results ----

/**
 * job: { host, port, path, hostHeader, headers?, connections, threads, warmupMs, durationMs, rate? }
 * → { rps, ok, errors, firstError, p50, p90, p99, max (ms), elu: [per thread], cpu (% of one core) }
 */
export async function generate(job) {
  const threads = Math.max(1, job.threads ?? 1);
  const request = requestBytes({ path: job.path, host: job.hostHeader, headers: job.headers });
  const cpu0 = process.cpuUsage();
  const wall0 = performance.now();
  const results = await Promise.all(
    Array.from({ length: threads }, (_, t) => {
      const share = Math.floor(job.connections / threads) + (t < job.connections % threads ? 1 : 0);
      const w = new Worker(new URL(import.meta.url), {
        workerData: { host: job.host ?? '127.0.0.1', port: job.port, request, connections: share, warmupMs: job.warmupMs, durationMs: job.durationMs, rate: job.rate ? job.rate / threads : 0 },
      });
      return new Promise((res, rej) => {
        w.once('message', (m) => (m.fatal ? rej(new Error(m.fatal)) : res(m)));
        w.once('error', rej);
      });
    }),
  );
  const d = process.cpuUsage(cpu0);
  const hist = createHistogram({ lowest: 1, highest: 60_000_000_000, figures: 3 });
  for (const r of results) hist.add(r.hist);
  const ok = results.reduce((a, r) => a + r.ok, 0);
  const ms = (ns) => ns / 1e6;
  return {
    rps: ok / (job.durationMs / 1000),
    ok,
    errors: results.reduce((a, r) => a + r.errors, 0),
    firstError: results.find((r) => r.firstError)?.firstError,
    p50: ms(hist.percentile(50)),
    p90: ms(hist.percentile(90)),
    p99: ms(hist.percentile(99)),
    max: ms(hist.max),
    elu: results.map((r) => r.elu),
    // Whole-process CPU over the whole run (warm-up and connection setup included): an upper bound.
    cpu: ((d.user + d.system) / 1000 / (performance.now() - wall0)) * 100,
  };
}

// Forked by bench/proxy.mjs: one job in, one result out.
if (isMainThread && process.send) {
  process.once('message', async (job) => {
    try {
      process.send({ type: 'result', ...(await generate(job)) });
    } catch (e) {
      process.send({ type: 'error', message: String(e?.stack ?? e) });
    } finally {
      process.disconnect();
    }
  });
}
