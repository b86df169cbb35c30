import { WorkQueue } from './work-queue';

const tick = () => new Promise((r) => setImmediate(r));

function gate() {
  let open!: () => void;
  const opened = new Promise<void>((r) => (open = r));
  return { open, opened };
}

describe('pubsub.redis work queue', () => {
  it('runs at most `concurrency` jobs and keeps at most `depth` waiting', async () => {
    const q = new WorkQueue(2, 1);
    const g = gate();
    const ran: string[] = [];
    const owner = {};
    const job = (key: string) => ({ key, owner, run: async () => void ran.push(key) });
    q.push({ key: 'a', owner, run: () => g.opened.then(() => void ran.push('a')) });
    q.push(job('b'));
    q.push(job('c'));
    expect(q.room()).toBe(0);
    expect(q.holds('a') && q.holds('c')).toBe(true);
    g.open();
    await tick();
    await tick();
    expect(ran).toEqual(['a', 'b', 'c']);
    expect(q.room()).toBe(2);
    expect(q.holds('a')).toBe(false);
  });

  it('ignores an entry it already holds, and a rejecting job does not stop it', async () => {
    const q = new WorkQueue(10, 1);
    const owner = {};
    let runs = 0;
    const g = gate();
    q.push({ key: 'x', owner, run: () => g.opened.then(() => Promise.reject(new Error('boom'))) });
    q.push({ key: 'x', owner, run: async () => void runs++ });
    q.push({ key: 'y', owner, run: async () => void runs++ });
    g.open();
    await q.settle(1000);
    await tick();
    expect(runs).toBe(1);
  });

  it("drop() forgets a closed subscription's queued jobs and frees room for waiting readers", async () => {
    const q = new WorkQueue(1, 1);
    const g = gate();
    const [a, b] = [{}, {}];
    let ran = false;
    q.push({ key: 'running', owner: b, run: () => g.opened });
    q.push({ key: 'queued', owner: a, run: async () => void (ran = true) });
    let roomy = false;
    void q.waitForRoom(new AbortController().signal).then(() => (roomy = true));
    await tick();
    expect(roomy).toBe(false);
    q.drop(a);
    await tick();
    expect(roomy).toBe(true);
    g.open();
    await q.settle(1000);
    expect(ran).toBe(false);
  });

  it('waitForRoom ends when its signal aborts', async () => {
    const q = new WorkQueue(1, 1);
    const g = gate();
    q.push({ key: '1', owner: {}, run: () => g.opened });
    q.push({ key: '2', owner: {}, run: () => g.opened });
    const stop = new AbortController();
    const waiting = q.waitForRoom(stop.signal);
    stop.abort();
    await waiting;
    g.open();
  });
});
