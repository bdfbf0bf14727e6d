import { describe, expect, it } from 'vitest';
import { createAckBatch } from './ack-batch.js';

const message = (log: string[], name: string) => ({
  ack: () => void log.push(`ack ${name}`),
  nak: () => void log.push(`nak ${name}`),
  term: () => void log.push(`term ${name}`),
});

describe('acks held back and sent together', () => {
  it('sends the acks of a moment together after the delay, and naks and terms at once', async () => {
    const log: string[] = [];
    const acks = createAckBatch(20);
    acks.holding(message(log, 'a')).ack();
    acks.holding(message(log, 'b')).nak();
    acks.holding(message(log, 'c')).ack();
    acks.holding(message(log, 'd')).term();
    expect(log).toEqual(['nak b', 'term d']);
    await new Promise((r) => setTimeout(r, 40));
    expect(log).toEqual(['nak b', 'term d', 'ack a', 'ack c']);
  });

  it('sends what it holds when flushed, once, and survives a closed connection', async () => {
    const log: string[] = [];
    const acks = createAckBatch(1_000);
    const closed = {
      ...message(log, 'x'),
      ack: () => {
        throw new Error('closed');
      },
    };
    acks.holding(closed).ack();
    acks.holding(message(log, 'a')).ack();
    acks.flush();
    acks.flush();
    expect(log).toEqual(['ack a']);
  });
});
