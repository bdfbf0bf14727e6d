import { setTimeout as sleep } from 'node:timers/promises';

/** Posts one backend event; resolves with the ack latency in ms. Throws unless 202. */
export async function postEvent(apiUrl: string, eventType: string, data: object): Promise<number> {
  const t0 = performance.now();
  const res = await fetch(`${apiUrl}/api/events/create`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ event_type: eventType, data }),
  });
  if (res.status !== 202) throw new Error(`HTTP ${res.status} ${await res.text()}`);
  await res.arrayBuffer();
  return performance.now() - t0;
}

/**
 * An open-loop load: `rate` events per second for `seconds`, each sent on schedule whether or
 * not the earlier ones were answered (a closed loop would slow down with the server and hide
 * its latency). Resolves with every ack latency once all are answered.
 */
export async function steadyLoad(rate: number, seconds: number, send: (i: number) => Promise<number>): Promise<number[]> {
  const total = Math.round(rate * seconds);
  const began = performance.now();
  const answers: Promise<number>[] = [];
  for (let i = 0; i < total; i++) {
    const due = began + (i * 1000) / rate;
    const wait = due - performance.now();
    if (wait > 1) await sleep(wait);
    answers.push(send(i));
  }
  return Promise.all(answers);
}
