// Test guest: one host call per request, chosen by the `op` query parameter; answers with what the
// host returned, or `status=<WasmResult>` when the call failed.
import {
  register, Request, Response, status, text, utf8, log, LogLevel,
  getState, invokeService, saveState, publish, tryLock, unlock, nextId, pluginConfig,
} from "../assembly";
export * from "../assembly/proxy";

function failed(): Response { return Response.text("status=" + status().toString(), 500); }

function value(req: Request): ArrayBuffer {
  // `size=N` asks for a large generated value instead of the `value` parameter.
  const size = req.param("size");
  if (size == null) {
    const v = req.param("value");
    return utf8(v != null ? v : "");
  }
  const n = I32.parseInt(size);
  const out = new Uint8Array(n);
  for (let i = 0; i < n; i++) out[i] = <u8>(97 + (i % 26));
  return out.buffer;
}

function p(req: Request, name: string): string {
  const v = req.param(name);
  return v != null ? v : "";
}

register("hostcalls", (req: Request): Response => {
  const op = p(req, "op");
  if (op == "get") {
    const v = getState(p(req, "store"), p(req, "key"));
    return v == null ? failed() : Response.bytes(v);
  }
  if (op == "save") return saveState(p(req, "store"), p(req, "key"), value(req)) ? Response.text("saved") : failed();
  if (op == "invoke") {
    const v = invokeService(p(req, "id"), p(req, "method"), value(req));
    return v == null ? failed() : Response.bytes(v);
  }
  if (op == "publish") return publish(p(req, "pubsub"), p(req, "topic"), value(req), "application/json") ? Response.text("published") : failed();
  if (op == "lock") {
    const got = tryLock(p(req, "store"), p(req, "resource"), p(req, "owner"), 30);
    return status() == 0 ? Response.text(got ? "acquired" : "held") : failed();
  }
  if (op == "unlock") {
    const released = unlock(p(req, "store"), p(req, "resource"), p(req, "owner"));
    return status() == 0 ? Response.text(released ? "released" : "not-owner") : failed();
  }
  if (op == "next") {
    const id = nextId(p(req, "store"), p(req, "key"));
    return id < 0 ? failed() : Response.text(id.toString());
  }
  if (op == "log") {
    log(LogLevel.Warn, "hello from " + p(req, "who"));
    return Response.text("logged");
  }
  if (op == "size") {
    // Round trip of a large value: length and a checksum of what getState returned.
    const v = getState(p(req, "store"), p(req, "key"));
    if (v == null) return failed();
    const bytes = Uint8Array.wrap(v);
    let sum: u32 = 0;
    for (let i = 0; i < bytes.length; i++) sum = sum * 31 + bytes[i];
    return Response.text(bytes.length.toString() + ":" + sum.toString());
  }
  if (op == "config") return Response.text(pluginConfig());
  if (op == "badresp") {
    // Not valid HTTP: the host must not pass these on.
    return new Response(42, utf8("odd")).header("bad name", "x").header("x-split", "a\r\nb").header("x-good", "1");
  }
  return Response.text("unknown op " + op, 400);
});
