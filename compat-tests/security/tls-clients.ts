// Clients for sidecars whose APIs speak TLS: a health wait over https, unary Dapr gRPC calls with
// given credentials, and the real @dapr/dapr SDK in a child process that trusts a test CA through
// NODE_EXTRA_CA_CERTS (how a user would point it at a private CA: the SDK takes no CA option).
import { execFile } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import * as grpc from '@grpc/grpc-js';
import { Agent, fetch as undiciFetch } from 'undici';
import { daprClientConstructor } from '../../src/api/dapr-grpc/protos';
import { ROOT, type Sidecar } from '../helpers/sidecar';

/** Waits for GET /v1.0/healthz to answer 204 over https (trusting `ca`, presenting `client` when given). */
export async function waitHealthyTls(sc: Sidecar, ca: string, client: { cert?: string; key?: string } = {}, timeoutMs = 20000): Promise<void> {
  const dispatcher = new Agent({ connect: { ca, ...client } });
  const deadline = Date.now() + timeoutMs;
  try {
    while (Date.now() < deadline) {
      if (sc.proc.exitCode !== null) throw new Error(`sidecar exited with ${sc.proc.exitCode}:\n${sc.output()}`);
      try {
        if ((await undiciFetch(`https://127.0.0.1:${sc.httpPort}/v1.0/healthz`, { dispatcher })).status === 204) return;
      } catch {
        /* not listening yet */
      }
      await new Promise((r) => setTimeout(r, 100));
    }
  } finally {
    await dispatcher.close();
  }
  await sc.stop('SIGKILL');
  throw new Error(`sidecar did not become healthy over https in ${timeoutMs} ms:\n${sc.output()}`);
}

/** One unary call on the Dapr gRPC API at 127.0.0.1:port (the certificates also name localhost). */
export function grpcUnary<T = unknown>(port: number, creds: grpc.ChannelCredentials, method: string, req: unknown): Promise<T> {
  const Client = daprClientConstructor();
  const client = new Client(`127.0.0.1:${port}`, creds, { 'grpc.ssl_target_name_override': 'localhost' });
  return new Promise<T>((resolve, reject) => {
    (client as unknown as Record<string, (r: unknown, o: grpc.CallOptions, cb: (e: grpc.ServiceError | null, r: T) => void) => void>)[method]!(req, { deadline: Date.now() + 5000 }, (e, r) => {
      client.close();
      if (e) reject(e);
      else resolve(r);
    });
  });
}

/**
 * Runs `body` (JS with `client`, `protocol` and `print(value)` in scope) against the sidecar with a
 * DaprClient over https, once per protocol (HTTP, then gRPC); resolves with what each printed.
 */
export function daprClient(sc: Sidecar, caFile: string, body: string): Promise<Record<'http' | 'grpc', unknown>> {
  const script = join(mkdtempSync(join(tmpdir(), 'layotto-ts-sdk-')), 'client.js');
  writeFileSync(
    script,
    `const { DaprClient, CommunicationProtocolEnum, LogLevel } = require(${JSON.stringify(require.resolve('@dapr/dapr'))});
const out = {};
(async () => {
  for (const [protocol, port, proto] of [['http', ${sc.httpPort}, CommunicationProtocolEnum.HTTP], ['grpc', ${sc.grpcPort}, CommunicationProtocolEnum.GRPC]]) {
    const client = new DaprClient({ daprHost: 'https://127.0.0.1', daprPort: String(port), communicationProtocol: proto, logger: { level: LogLevel.Error } });
    const print = (v) => { out[protocol] = v; };
    try {
      ${body}
    } finally {
      await client.stop().catch(() => {});
    }
  }
  process.stdout.write(JSON.stringify(out));
})().catch((e) => { process.stderr.write(String(e && e.stack || e)); process.exit(1); });
`,
  );
  return new Promise((resolve, reject) => {
    // The gRPC client warns that https:// endpoints are deprecated (grpcs:// does not turn TLS on in this SDK version).
    execFile(process.execPath, [script], { cwd: ROOT, env: { ...process.env, NODE_EXTRA_CA_CERTS: caFile }, timeout: 20000 }, (err, stdout, stderr) => {
      if (err) return reject(new Error(`SDK script failed: ${err.message}\n${stderr}`));
      try {
        resolve(JSON.parse(stdout));
      } catch {
        reject(new Error(`SDK script printed no JSON:\n${stdout}\n${stderr}`));
      }
    });
  });
}
