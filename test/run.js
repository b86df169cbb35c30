// `npm test`: the unit and compat projects in parallel, then the serial group alone (suites that
// stop or restart a shared server, e.g. the machine's RabbitMQ, must not overlap other suites).
// Extra arguments go to both jest runs (a path filter, -t ...). Ends with "Tests: N passed, N failed".
const { spawnSync } = require('node:child_process');
const { mkdtempSync, readFileSync, existsSync } = require('node:fs');
const { tmpdir } = require('node:os');
const { join } = require('node:path');

const jest = require.resolve('jest/bin/jest');
const summary = join(mkdtempSync(join(tmpdir(), 'layotto-ts-test-')), 'summary.jsonl');
const env = { ...process.env, TEST_SUMMARY_FILE: summary };
const extra = process.argv.slice(2);

const runs = [
  [...extra, '--selectProjects', 'unit', 'compat'],
  [...extra, '--runInBand', '--selectProjects', 'serial'],
];
let status = 0;
for (const args of runs) {
  const r = spawnSync(process.execPath, [jest, '--passWithNoTests', ...args], { stdio: 'inherit', env });
  if (r.status !== 0) status = r.status ?? 1;
}
const total = { passed: 0, failed: 0, skipped: 0 };
if (existsSync(summary)) {
  for (const line of readFileSync(summary, 'utf8').split('\n').filter(Boolean)) {
    const c = JSON.parse(line);
    for (const k of Object.keys(total)) total[k] += c[k];
  }
}
if (status !== 0 && total.failed === 0) total.failed = 1;
process.stdout.write(`\nTests: ${total.passed} passed, ${total.failed} failed, ${total.skipped} skipped\n`);
process.exit(status);
