import { setTimeout as sleep } from 'node:timers/promises';
import { describe, expect, it } from 'vitest';
import { throttled } from './subscribers.js';

describe("an ordered subscription's throttled wake", () => {
  it('joins the calls made before a wake is sent, and always sends one after the last call', async () => {
    const sent: number[] = [];
    const wake = throttled(async () => void sent.push(Date.now()), 100);
    await Promise.all([wake('s'), wake('s'), wake('s')]);
    expect(sent).toHaveLength(1);
    // Right after a wake: the next waits for the window, and the calls meanwhile join it.
    const late = [wake('s'), wake('s')];
    await Promise.all(late);
    expect(sent).toHaveLength(2);
    expect(sent[1]! - sent[0]!).toBeGreaterThanOrEqual(90);
    // Another subscription is throttled on its own.
    await wake('other');
    expect(sent).toHaveLength(3);
  });

  it("hands a failed wake's error to every caller that joined it", async () => {
    const wake = throttled(() => Promise.reject(new Error('temporal unavailable')), 50);
    const calls = [wake('s'), wake('s')];
    for (const c of calls) await expect(c).rejects.toThrow('temporal unavailable');
    await sleep(60);
    await expect(wake('s')).rejects.toThrow('temporal unavailable');
  });
});
