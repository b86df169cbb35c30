// A private network namespace for the traffic-hijacking test: a veth pair to the root namespace on
// a private /30 (10.203.a.b), no default route (nothing in it can reach beyond that /30), a fake
// service range that is local to the namespace (so a packet the redirect misses is refused there,
// never routed anywhere), its own /etc/hosts and resolv.conf (`ip netns exec` mounts
// /etc/netns/<name>/* over /etc) naming the fake services, and an iptables REDIRECT in its nat
// OUTPUT chain: TCP to <service range>:80 goes to the proxy's listener on the same machine, as
// Istio's init container sets up a pod. Only root can do this; everything is removed by destroy(),
// and namespaces left by a test process that died are swept on the next create.
import { type ChildProcess, execFile, execFileSync, spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const PREFIX = 'lthj';
/** The fake service range inside the namespace (a /24 local to it; see the file comment). */
export const SERVICE_CIDR = '10.203.255.0/24';
export const serviceIp = (n: number): string => `10.203.255.${n}`;

const run = (cmd: string, args: string[]): string => execFileSync(cmd, args, { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });

/** Why namespaces cannot be made here (undefined: they can). */
export function netnsUnsupported(): string | undefined {
  if (process.platform !== 'linux') return 'network namespaces need Linux';
  if (process.getuid?.() !== 0) return 'creating network namespaces and iptables rules needs root';
  for (const [cmd, args] of [['ip', ['-V']], ['iptables', ['-V']]] as const) {
    try {
      run(cmd, [...args]);
    } catch {
      return `${cmd} is not installed (iproute2 / iptables)`;
    }
  }
  return undefined;
}

const alive = (pid: number): boolean => {
  try {
    process.kill(pid, 0);
    return true;
  } catch (e) {
    return (e as NodeJS.ErrnoException).code === 'EPERM';
  }
};

/** Removes namespaces (and their /etc/netns dirs) that a test process, now gone, left behind. */
function sweepStale(): void {
  for (const line of run('ip', ['netns', 'list']).split('\n')) {
    const name = line.split(' ')[0] ?? '';
    const m = new RegExp(`^${PREFIX}-(\\d+)-[0-9a-f]+$`).exec(name);
    if (m && !alive(Number(m[1]))) removeNetns(name);
  }
}

function removeNetns(name: string): void {
  try {
    run('ip', ['netns', 'del', name]); // takes its end of the veth, and so the pair, with it
  } catch {
    /* already gone */
  }
  rmSync(join('/etc/netns', name), { recursive: true, force: true });
}

export interface Netns {
  name: string;
  /** The root namespace's end of the veth pair (upstreams in the root namespace listen here). */
  hostIp: string;
  /** The namespace's end. */
  nsIp: string;
  /**
   * Runs a command inside the namespace and resolves with its stdout; rejects on a non-zero exit
   * (the message carries its stderr). Asynchronous: servers of the test process must go on answering meanwhile.
   */
  exec(cmd: string, args: string[], opts?: { timeoutMs?: number; cwd?: string; env?: NodeJS.ProcessEnv }): Promise<string>;
  /** Starts a long-running command inside the namespace. */
  spawn(cmd: string, args: string[], opts?: { cwd?: string; env?: NodeJS.ProcessEnv }): ChildProcess;
  /** TCP to SERVICE_CIDR port 80 from inside the namespace goes to this local port. */
  redirectServicesTo(port: number): void;
  destroy(): void;
}

/** An unused /30 in 10.203.0-254.x: [host side, namespace side]. */
function freeSubnet(): [string, string] {
  const used = run('ip', ['-4', '-o', 'addr']);
  for (let i = 0; i < 50; i++) {
    const a = randomBytes(1)[0]! % 255;
    const b = (randomBytes(1)[0]! % 64) * 4;
    if (!used.includes(` 10.203.${a}.`)) return [`10.203.${a}.${b + 1}`, `10.203.${a}.${b + 2}`];
  }
  throw new Error('no free 10.203.x.y/30 for the test namespace');
}

/**
 * Creates the namespace; `hosts` maps names to addresses for its /etc/hosts. Throws (after
 * removing whatever was made) when a step fails.
 */
export function createNetns(hosts: Record<string, string>): Netns {
  sweepStale();
  const tag = randomBytes(3).toString('hex');
  const name = `${PREFIX}-${process.pid}-${tag}`;
  const vh = `${PREFIX}${tag}h`; // interface names: at most 15 characters
  const vn = `${PREFIX}${tag}n`;
  const [hostIp, nsIp] = freeSubnet();
  const inNs = (cmd: string, args: string[]) => run('ip', ['netns', 'exec', name, cmd, ...args]);
  const etc = join('/etc/netns', name);
  try {
    mkdirSync(etc, { recursive: true });
    writeFileSync(join(etc, 'hosts'), ['127.0.0.1 localhost', '::1 localhost', ...Object.entries(hosts).map(([h, ip]) => `${ip} ${h}`)].join('\n') + '\n');
    // Any DNS query stays on the namespace's loopback, where nothing answers.
    writeFileSync(join(etc, 'resolv.conf'), 'nameserver 127.0.0.1\noptions timeout:1 attempts:1\n');
    run('ip', ['netns', 'add', name]);
    run('ip', ['link', 'add', vh, 'type', 'veth', 'peer', 'name', vn]);
    run('ip', ['link', 'set', vn, 'netns', name]);
    run('ip', ['addr', 'add', `${hostIp}/30`, 'dev', vh]);
    run('ip', ['link', 'set', vh, 'up']);
    inNs('ip', ['link', 'set', 'lo', 'up']);
    inNs('ip', ['addr', 'add', `${nsIp}/30`, 'dev', vn]);
    inNs('ip', ['link', 'set', vn, 'up']);
    inNs('ip', ['route', 'add', 'local', SERVICE_CIDR, 'dev', 'lo']);
    const routes = inNs('ip', ['-4', 'route', 'show']);
    if (/^default/m.test(routes)) throw new Error(`the namespace has a default route:\n${routes}`);
  } catch (e) {
    removeNetns(name);
    try {
      run('ip', ['link', 'del', vh]);
    } catch {
      /* went with the namespace */
    }
    throw e;
  }
  return {
    name,
    hostIp,
    nsIp,
    exec: (cmd, args, opts = {}) =>
      new Promise((resolve, reject) =>
        execFile('ip', ['netns', 'exec', name, cmd, ...args], { encoding: 'utf8', timeout: opts.timeoutMs ?? 15_000, cwd: opts.cwd, env: opts.env }, (e, stdout) =>
          e ? reject(new Error(`in ${name}: ${e.message}`)) : resolve(stdout),
        ),
      ),
    spawn: (cmd, args, opts = {}) => spawn('ip', ['netns', 'exec', name, cmd, ...args], { stdio: ['ignore', 'pipe', 'pipe'], cwd: opts.cwd, env: opts.env }),
    redirectServicesTo: (port) => void inNs('iptables', ['-t', 'nat', '-A', 'OUTPUT', '-p', 'tcp', '-d', SERVICE_CIDR, '--dport', '80', '-j', 'REDIRECT', '--to-ports', String(port)]),
    destroy: () => {
      removeNetns(name);
      if (existsSync(`/sys/class/net/${vh}`)) {
        try {
          run('ip', ['link', 'del', vh]);
        } catch {
          /* gone meanwhile */
        }
      }
    },
  };
}
