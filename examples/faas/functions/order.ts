// Function `order` (Layotto's function_1, reimagined): `?name=book1` asks function `inventory` for
// the stock, and when some is left takes one under a lock, saves the new stock, and publishes an
// `orders` event carrying an order number from the sequencer. Layotto's functions can only read
// state and invoke; saving, publishing, locks and ids are this runtime's host calls.
import {
  register, Request, Response, invokeService, saveState, publish, tryLock, unlock, nextId, log, LogLevel, text, utf8,
} from "../../../sdk/assemblyscript/assembly";
export * from "../../../sdk/assemblyscript/assembly/proxy";

const STORE = "state_demo";
const LOCK = "lock_demo";
const SEQUENCER = "sequencer_demo";
const PUBSUB = "pubsub_demo";

register("order", (req: Request): Response => {
  const item = req.param("name");
  if (item == null || item.length == 0) return Response.text("name the item: ?name=<item>", 400);
  const orderId = nextId(SEQUENCER, "order");
  if (orderId < 0) return Response.text("no order number: the sequencer failed", 502);
  const owner = "order-" + orderId.toString();
  // One order at a time per item, so two calls never sell the same last copy.
  if (!tryLock(LOCK, item, owner, 5)) return Response.text(item + " is being ordered by someone else; try again", 409);
  const answer = take(item, orderId);
  unlock(LOCK, item, owner);
  return answer;
});

function take(item: string, orderId: i64): Response {
  const stockText = invokeService("inventory", "stock", utf8(item));
  if (stockText == null) return Response.text("function inventory did not answer", 502);
  const stock = I32.parseInt(text(stockText));
  if (stock <= 0) return Response.text("Sorry, " + item + " is sold out.", 409);
  const left = stock - 1;
  if (!saveState(STORE, item, utf8(left.toString()))) return Response.text("could not save the new stock", 502);
  const event = '{"orderId":' + orderId.toString() + ',"item":"' + item + '","left":' + left.toString() + "}";
  if (!publish(PUBSUB, "orders", utf8(event), "application/json")) log(LogLevel.Warn, "order " + orderId.toString() + ": the orders event was not published");
  return Response.text("Order " + orderId.toString() + ": one " + item + " is yours; " + left.toString() + " left in stock.");
}
