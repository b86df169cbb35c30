// Test guest for update(): the same id as version2.ts, another answer.
import { register, Request, Response } from "../assembly";
export * from "../assembly/proxy";
register("versioned", (req: Request): Response => Response.text("v1"));
