// hello.helloworld: answers "<greeting>[, <name>]"; greeting from metadata "hello" (default "greeting").
import { z } from 'zod';
import { parseMetadata } from '../../metadata';
import type { ComponentMetadata } from '../../types';
import type { HelloRequest, HelloService } from '../types';

const schema = z.object({ hello: z.string().default('greeting') });

export class HelloWorld implements HelloService {
  private greeting = 'greeting';

  async init(md: ComponentMetadata): Promise<void> {
    this.greeting = parseMetadata(schema, md.properties).hello;
  }

  features(): readonly string[] {
    return [];
  }

  async hello(req: HelloRequest): Promise<{ hello: string }> {
    return { hello: req.name ? `${this.greeting}, ${req.name}` : this.greeting };
  }

  async close(): Promise<void> {}
}
