// A bound on a wait whose end a component cannot otherwise control (a broker's confirm on a
// stalled connection, an init that never returns): past `ms` the caller gets `error()`, while the
// operation itself is left to finish or fail on its own.
export function withDeadline<T>(p: Promise<T>, ms: number, error: () => Error): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const expired = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(error()), ms);
  });
  return Promise.race([p, expired]).finally(() => clearTimeout(timer));
}
