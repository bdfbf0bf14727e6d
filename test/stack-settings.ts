// What the global setup hands to the test files (through vitest's provide/inject).
export interface TestStack {
  apiUrl: string;
  workerHealthUrl: string;
  databaseUrl: string;
  natsUrl: string;
  temporalAddress: string;
  temporalCliPath: string;
  temporalUiUrl: string;
  /** The deployment's Temporal payload key ring, as PAYLOAD_KEYS / PAYLOAD_KEY_ID. */
  payloadKeys: { PAYLOAD_KEYS: string; PAYLOAD_KEY_ID: string };
}

declare module 'vitest' {
  export interface ProvidedContext {
    stack: TestStack;
  }
}

/** Lifecycle settings for the test services: retries fast enough for a test to watch them. */
export const TEST_LIFECYCLE_ENV = {
  RETRY_INITIAL_INTERVAL: '100ms',
  RETRY_BACKOFF: '1',
  RETRY_MAX_INTERVAL: '200ms',
  RETRY_MAX_ATTEMPTS: '3',
  PARK_TIMEOUT: '1h',
  // Subscribers are not paused by a few failures unless a test's subscription asks for it
  // (`settings.pause_after_failures`): the tests of failing events need their events to fail.
  SUBSCRIBER_PAUSE_AFTER_FAILURES: '1000',
  // A paused subscriber is probed soon and often enough for a test to watch it resume.
  SUBSCRIBER_PROBE_INITIAL: '500ms',
  SUBSCRIBER_PROBE_MAX: '2s',
  // The suite runs with fields encrypted at rest (unset, the service encrypts none), so every
  // test that stores and reads events goes through the sealing and opening (test/encrypted-fields.test.ts).
  ENCRYPTED_FIELDS: 'email,phone',
};
