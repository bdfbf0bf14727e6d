/** An error that knows how it should look to an API client. */
export class HttpError extends Error {
  constructor(
    readonly statusCode: number,
    readonly code: string,
    message: string,
    readonly details?: unknown,
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'HttpError';
  }
}

export const notFound = (what: string) => new HttpError(404, 'not_found', `${what} not found`);
export const dependencyDown = (what: string, message: string) =>
  new HttpError(503, 'unavailable', `${what} is unavailable: ${message}`, undefined, 5);
