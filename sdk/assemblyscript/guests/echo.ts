// Test guest: answers with the method, path, an `x-echo` request header and the body it was given.
import { register, Request, Response } from "../assembly";
export * from "../assembly/proxy";

register("echo", (req: Request): Response => {
  const h = req.header("x-echo");
  return Response.text(req.method + " " + req.path + " " + (h != null ? h : "-") + " " + req.text(), 201).header("x-fn", "echo");
});
