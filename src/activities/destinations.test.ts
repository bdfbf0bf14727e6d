import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { fetch } from 'undici';
import { describe, expect, it } from 'vitest';
import { checkDestination, destinationAgent, isPrivateAddress, PrivateDestinationError } from './destinations.js';

describe('webhook destinations', () => {
  it('knows private, loopback and link-local addresses, v4, v6 and v4-mapped', () => {
    for (const a of [
      '10.1.2.3',
      '172.20.0.1',
      '192.168.1.1',
      '127.0.0.1',
      '169.254.169.254',
      '::1',
      'fd00::1',
      'fe80::1',
      '::ffff:10.0.0.1',
      '0.0.0.0',
    ]) {
      expect(isPrivateAddress(a), a).toBe(true);
    }
    for (const a of ['93.184.216.34', '8.8.8.8', '2606:4700::1111', '::ffff:8.8.8.8']) expect(isPrivateAddress(a), a).toBe(false);
  });

  it('refuses a private destination when subscribing unless allowed, by address or by name', async () => {
    await expect(checkDestination('http://169.254.169.254/latest/meta-data', false)).rejects.toBeInstanceOf(PrivateDestinationError);
    await expect(checkDestination('http://[::1]:8080/hook', false)).rejects.toBeInstanceOf(PrivateDestinationError);
    await expect(checkDestination('http://localhost:8080/hook', false)).rejects.toThrow(/resolves to (127\.0\.0\.1|::1)/);
    await expect(checkDestination('http://127.0.0.1/hook', true)).resolves.toBeUndefined();
  });

  it('refuses at connection time a name that resolves to a private address (rebinding)', async () => {
    const server = createServer((_req, res) => res.writeHead(200).end());
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r));
    const url = `http://localhost:${(server.address() as AddressInfo).port}/hook`;
    try {
      const refused = await fetch(url, { dispatcher: destinationAgent(false)! }).catch((err: Error & { cause?: unknown }) => err.cause);
      expect(refused).toBeInstanceOf(PrivateDestinationError);
      expect((await fetch(url.replace('localhost', '127.0.0.1'))).status).toBe(200);
    } finally {
      server.close();
    }
  });
});
