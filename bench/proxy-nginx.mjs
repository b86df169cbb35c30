// nginx for the proxy benchmark: generated configs in a temp dir, run in the foreground
// (daemon off) with every path (pid, logs, temp files) inside that dir, on unprivileged ports.
//   upstream: a static `return 200` of a small body, so the upstream is never what limits a run.
//   proxy:    nginx as a reverse proxy to that upstream the way it is usually benchmarked:
//             worker_processes 1, upstream keepalive 64, HTTP/1.1 upstream with Connection "",
//             no access log.
import { execFileSync, spawn, spawnSync } from 'node:child_process';
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** nginx's version (`nginx -v` prints it on stderr), or undefined when nginx is not installed. */
export function nginxVersion(bin = 'nginx') {
  const r = spawnSync(bin, ['-v'], { encoding: 'utf8' });
  return r.error ? undefined : /nginx\/(\S+)/.exec(`${r.stdout}${r.stderr}`)?.[1];
}

function common(dir) {
  const t = (n) => join(dir, n);
  return `worker_processes 1;
daemon off;
master_process on;
pid ${t('nginx.pid')};
error_log ${t('error.log')} warn;
events { worker_connections 4096; multi_accept on; }
`;
}

function httpCommon(dir) {
  const t = (n) => join(dir, n);
  return `  access_log off;
  client_body_temp_path ${t('client_body')};
  proxy_temp_path ${t('proxy')};
  fastcgi_temp_path ${t('fastcgi')};
  uwsgi_temp_path ${t('uwsgi')};
  scgi_temp_path ${t('scgi')};
  keepalive_requests 1000000;
  keepalive_timeout 75s;
`;
}

/** Config of the static upstream: GET anything → 200 with `body`. */
export function upstreamConfig(dir, port, body) {
  return `${common(dir)}http {
${httpCommon(dir)}  default_type text/plain;
  server {
    listen 127.0.0.1:${port} reuseport backlog=4096;
    location / { return 200 "${body}"; }
  }
}
`;
}

/** Config of nginx as the reverse proxy under test. */
export function proxyConfig(dir, port, upstreamPort) {
  return `${common(dir)}http {
${httpCommon(dir)}  upstream bench_upstream {
    server 127.0.0.1:${upstreamPort};
    keepalive 64;
  }
  server {
    listen 127.0.0.1:${port} reuseport backlog=4096;
    location / {
      proxy_pass http://bench_upstream;
      proxy_http_version 1.1;
      proxy_set_header Connection "";
      proxy_buffering on;
    }
  }
}
`;
}

/**
 * Starts nginx with `config(dir)` written to dir/nginx.conf (dir is created). Resolves once the
 * config tested fine and the process runs; stop() sends SIGQUIT (graceful), then SIGKILL.
 */
export function startNginx(dir, config, bin = 'nginx') {
  mkdirSync(dir, { recursive: true });
  const conf = join(dir, 'nginx.conf');
  writeFileSync(conf, config);
  // -e: the startup error log too (before the config is read it would go to the compiled-in path).
  const args = ['-p', dir, '-c', conf, '-e', join(dir, 'error.log')];
  execFileSync(bin, [...args, '-t', '-q'], { stdio: ['ignore', 'ignore', 'pipe'] });
  const proc = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let out = '';
  proc.stderr.on('data', (d) => (out += d));
  const exited = new Promise((res) => proc.once('exit', (code, sig) => res(code ?? sig)));
  return {
    proc,
    exited,
    output: () => out,
    /** The worker's pid (the master only accepts and forks): the CPU to sample. */
    workerPid() {
      try {
        const kids = execFileSync('pgrep', ['-P', String(proc.pid)], { encoding: 'utf8' }).trim().split('\n').map(Number);
        return kids[0];
      } catch {
        return undefined;
      }
    },
    async stop() {
      if (proc.exitCode === null && proc.signalCode === null) proc.kill('SIGQUIT');
      const t = setTimeout(() => proc.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    },
  };
}
