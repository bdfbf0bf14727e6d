import type { FastifyInstance } from 'fastify';
import fp from 'fastify-plugin';
import type { AppDeps } from '../app.js';

export const authPlugin = fp(async (_app: FastifyInstance, _deps: Pick<AppDeps, 'config' | 'log'>) => {}, { name: 'auth' });
