// Layotto's Hello API contract: a greeting component, used as the smoke and benchmark API.
import type { Component } from '../types';

export interface HelloRequest {
  name: string;
}

export interface HelloService extends Component {
  hello(req: HelloRequest): Promise<{ hello: string }>;
}
