import type { FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { AUTH_ENV } from './auth-tokens.js';
import { startApp } from './in-process-app.js';

describe('OpenAPI', () => {
  let app: FastifyInstance;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ app, close } = await startApp({ ...AUTH_ENV, WRITE_KEYS: 'shop:pk_openapi_test' }));
  });
  afterAll(() => close());

  it('serves the document at /openapi.json, generated from the route schemas', async () => {
    const res = await app.inject({ method: 'GET', url: '/openapi.json' });
    expect(res.statusCode).toBe(200);
    const doc = res.json();
    expect(doc.openapi).toMatch(/^3\./);

    const create = doc.paths['/api/events/create'].post;
    const body = create.requestBody.content['application/json'].schema;
    expect(body.properties.event_type).toMatchObject({ type: 'string', pattern: expect.any(String) });
    expect(Object.keys(body.properties)).toEqual(
      expect.arrayContaining(['event_id', 'service', 'data', 'metadata', 'user_id', 'correlation_id']),
    );
    expect(body.required).toContain('event_type');
    expect(create.responses['202']).toBeDefined();
    expect(create.security).toEqual([{ bearer: ['events:write'] }]);

    expect(doc.paths['/api/frontend/events'].post.security).toEqual([
      { bearer: ['events:write'] },
      { writeKey: [] },
      { writeKeyBasic: [] },
    ]);
    expect(doc.paths['/v1/batch'].post.security).toEqual([{ bearer: ['events:write'] }, { writeKey: [] }, { writeKeyBasic: [] }]);
    expect(doc.paths['/api/events/{id}'].get.security).toEqual([{ bearer: ['events:read'] }]);
    expect(doc.components.securitySchemes).toMatchObject({
      bearer: { type: 'http', scheme: 'bearer' },
      writeKey: { type: 'apiKey', in: 'header', name: 'X-Write-Key' },
      writeKeyBasic: { type: 'http', scheme: 'basic' },
    });
    expect(doc.paths['/health'].get.security).toBeUndefined();
  });

  it('documents the read side: query parameters, page cap and answers', async () => {
    const doc = (await app.inject({ method: 'GET', url: '/openapi.json' })).json();
    const list = doc.paths['/api/events'].get;
    expect(list.security).toEqual([{ bearer: ['events:read'] }]);
    const params = Object.fromEntries(list.parameters.map((p: { name: string; schema: object }) => [p.name, p.schema]));
    expect(Object.keys(params)).toEqual(
      expect.arrayContaining([
        'user_id',
        'session_id',
        'event_type',
        'source',
        'category',
        'status',
        'from',
        'to',
        'data',
        'limit',
        'cursor',
      ]),
    );
    expect(params.limit).toMatchObject({ maximum: 1000 });
    expect(list.responses['200'].content['application/json'].schema.properties).toHaveProperty('next_cursor');
    expect(doc.paths['/api/users/{user_id}/events'].get.parameters.map((p: { name: string }) => p.name)).toContain('as_of');
    expect(doc.paths['/api/sessions/{session_id}'].get.responses['200'].content['application/json'].schema.properties).toHaveProperty(
      'duration_ms',
    );
    expect(doc.paths['/api/stats/funnel'].post.requestBody.content['application/json'].schema.properties.steps).toMatchObject({
      type: 'array',
      minItems: 2,
    });
    for (const path of ['/api/stats/event-types', '/api/stats/active-users', '/api/stats/sessions']) {
      expect(
        doc.paths[path].get.parameters.map((p: { name: string }) => p.name),
        path,
      ).toEqual(expect.arrayContaining(['from', 'to', 'as_of']));
    }
  });

  it('serves the browsable documentation at /docs', async () => {
    const res = await app.inject({ method: 'GET', url: '/docs' });
    expect(res.statusCode).toBe(200);
    expect(res.headers['content-type']).toMatch(/text\/html/);
    expect(res.body).toMatch(/swagger-ui/i);
  });
});
