// Test guest: traps while the module starts (top-level code), before it can name its id.
import { register, Request, Response } from "../assembly";
export * from "../assembly/proxy";

register("starttrap", (req: Request): Response => Response.text("never"));
if (I32.parseInt("1") == 1) unreachable();
