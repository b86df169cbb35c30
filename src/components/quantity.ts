// Kubernetes-style quantities as daprd's --max-body-size takes them: "4Mi", "10M", "512Ki", "1Gi", "4096".
const UNITS: Record<string, number> = {
  '': 1,
  k: 1e3,
  K: 1e3,
  M: 1e6,
  G: 1e9,
  Ki: 1024,
  Mi: 1024 ** 2,
  Gi: 1024 ** 3,
};

export function parseQuantity(v: string): number {
  const m = /^(\d+(?:\.\d+)?)([kKMG]i?|)$/.exec(v.trim());
  if (!m || !(m[2]! in UNITS)) throw new Error(`invalid size "${v}" (expected e.g. 4Mi, 512Ki, 10M or a byte count)`);
  return Math.floor(Number(m[1]) * UNITS[m[2]!]!);
}
