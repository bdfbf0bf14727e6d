import { describe, expect, it } from 'vitest';
import { toEventType } from './event-type-name.js';

describe('free-form event names as subject tokens', () => {
  it.each([
    ['Order Completed', 'order_completed'],
    ['order_completed', 'order_completed'],
    ['orderCompleted', 'order_completed'],
    ['Product Added to Cart!', 'product_added_to_cart'],
    ['Café Visited', 'cafe_visited'],
    ['com.example.order.created', 'com_example_order_created'],
    ['  Signed-Up  (v2) ', 'signed_up_v2'],
    ['HTTPRequest Sent', 'httprequest_sent'],
    ['a.*.>', 'a'],
  ])('%j becomes %j', (name, token) => {
    expect(toEventType(name)).toBe(token);
  });

  it('cuts long names to 100 characters without a trailing underscore', () => {
    const token = toEventType(`${'x'.repeat(99)} tail`)!;
    expect(token).toBe('x'.repeat(99));
    expect(toEventType('y'.repeat(300))).toHaveLength(100);
  });

  it.each(['', '   ', '!!!', '注文完了'])('gives nothing for %j', (name) => {
    expect(toEventType(name)).toBeUndefined();
  });
});
