// A route as data, like daprd's endpoints.Endpoint: the table drives registration (and later API
// logging, allow-lists and metric names by `name`).
import type { FastifyReply, FastifyRequest, HTTPMethods } from 'fastify';

export type Handler = (req: FastifyRequest, reply: FastifyReply) => Promise<unknown>;

export interface Endpoint {
  methods: HTTPMethods[];
  /** Full path, version prefix included, e.g. /v1.0/state/:storeName/:key */
  url: string;
  /** daprd's endpoint name (= gRPC method name), e.g. GetState. */
  name: string;
  handler: Handler;
  /** The handler reads the request body itself, as a stream (the body parser leaves it unread). */
  streamBody?: boolean;
}
