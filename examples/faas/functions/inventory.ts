// Function `inventory` (Layotto's function_2, reimagined): the stock of an item, read from state.
// Called over the functions port (`?name=book1`) or by another function through invokeService,
// whose data is the bare item name.
import { register, Request, Response, getState, status, Status, text } from "../../../sdk/assemblyscript/assembly";
export * from "../../../sdk/assemblyscript/assembly/proxy";

const STORE = "state_demo";

register("inventory", (req: Request): Response => {
  const param = req.param("name");
  const item = param != null ? param : req.text();
  if (item.length == 0) return Response.text("name the item: ?name=<item>", 400);
  const stock = getState(STORE, item);
  // An item never stocked has no key: zero, not an error.
  if (stock == null) return status() == Status.NotFound ? Response.text("0") : Response.text("state store failed: status " + status().toString(), 502);
  return Response.text(text(stock));
});
