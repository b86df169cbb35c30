// Layotto's Hello API.
import { errMessage, RuntimeError } from '../errors/runtime-error';
import type { CoreContext } from './context';

export class HelloCore {
  constructor(private readonly ctx: CoreContext) {}

  async sayHello(serviceName: string, name: string): Promise<string> {
    const c = this.ctx.components.get('hello', serviceName);
    if (!c) throw new RuntimeError('HELLO_NOT_FOUND');
    try {
      return (await c.instance.hello({ name })).hello;
    } catch (e) {
      throw new RuntimeError('INTERNAL', errMessage(e));
    }
  }
}
