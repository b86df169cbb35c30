// Test guest: misbehaves on request (`op` parameter): trap, abort, endless loop, memory growth past
// any cap, one huge allocation; otherwise counts its calls (state that survives between calls).
import { register, Request, Response } from "../assembly";
export * from "../assembly/proxy";

let calls = 0;
const hoard: ArrayBuffer[] = [];

register("faults", (req: Request): Response => {
  const op = req.param("op");
  calls++;
  if (op == "trap") unreachable();
  if (op == "abort") assert(false, "guest gave up");
  if (op == "loop") { while (calls > 0) calls = (calls % 1000) + 1; }
  if (op == "grow") { for (let i = 0; i < 100000; i++) hoard.push(new ArrayBuffer(1 << 20)); }
  if (op == "huge") hoard.push(new ArrayBuffer(512 << 20));
  return Response.text("calls=" + calls.toString());
});
