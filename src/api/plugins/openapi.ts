import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import type { FastifyInstance, RouteOptions } from 'fastify';
import fp from 'fastify-plugin';
import { jsonSchemaTransform, jsonSchemaTransformObject } from 'fastify-type-provider-zod';

const securitySchemes = {
  bearer: {
    type: 'http',
    scheme: 'bearer',
    bearerFormat: 'JWT',
    description:
      'A JWT whose `scope` (space-separated) or `scp` (array) claim carries events:write, events:read or events:admin (admin includes read); events:decrypt adds the encrypted fields in clear where events are shown, and lookups by them.',
  },
  writeKey: {
    type: 'apiKey',
    in: 'header',
    name: 'X-Write-Key',
    description: 'A publishable write key for browser collection; sendBeacon requests put it in a `write_key` body field instead.',
  },
  writeKeyBasic: {
    type: 'http',
    scheme: 'basic',
    description:
      "The same write key as HTTP Basic credentials' user name, the password empty: how Segment's and RudderStack's libraries send it.",
  },
} as const;

/** The route's security requirement, from the scope it declares and whether it takes write keys. */
function security(route: RouteOptions): Record<string, string[]>[] | undefined {
  const scope = route.config?.scope;
  if (!scope) return undefined;
  return [{ bearer: [scope] }, ...(route.config?.acceptsWriteKey ? [{ writeKey: [] }, { writeKeyBasic: [] }] : [])];
}

/**
 * The OpenAPI document, generated from the routes' zod schemas, at /openapi.json, browsable at
 * /docs. Registered before the routes: @fastify/swagger only sees routes added after it.
 */
export const openapiPlugin = fp(
  async (app: FastifyInstance) => {
    await app.register(swagger, {
      openapi: {
        openapi: '3.1.0',
        info: {
          title: 'Event Service',
          version: '1',
          description:
            'Ingests events over HTTP, makes them durable in NATS JetStream and processes each in its own Temporal workflow. Errors are `{"error": {code, message, details?}, "request_id"}`.',
        },
        components: { securitySchemes },
      },
      transform: (input) => {
        const out = jsonSchemaTransform(input);
        const required = security(input.route);
        return required ? { ...out, schema: { ...out.schema, security: required } } : out;
      },
      transformObject: jsonSchemaTransformObject,
    });
    await app.register(swaggerUi, { routePrefix: '/docs' });
    app.get('/openapi.json', { schema: { hide: true } }, () => app.swagger());
  },
  { name: 'openapi' },
);
