import { describe, expect, it } from 'vitest';
import { addressKey, clientAddress } from '../../src/limits/client-address.js';

describe('addressKey: the key of every per-address limit', () => {
  it('groups IPv6 by /64, in every spelling', () => {
    const a = addressKey('2001:db8:1:2::1');
    expect(a).toBe('2001:db8:1:2::/64');
    expect(addressKey('2001:0db8:0001:0002:ffff:ffff:ffff:ffff')).toBe(a);
    expect(addressKey('[2001:DB8:1:2:0:0:0:9]')).toBe(a);
    expect(addressKey('2001:db8:1:2::9%eth0')).toBe(a);
    expect(addressKey('2001:db8:1:3::1')).not.toBe(a);
    expect(addressKey('::1')).toBe('0:0:0:0::/64');
    expect(addressKey('2001:db8::1.2.3.4')).toBe('2001:db8:0:0::/64');
  });
  it('keeps IPv4 as is, and IPv4-mapped IPv6 is the IPv4 address', () => {
    expect(addressKey('203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::ffff:203.0.113.7')).toBe('203.0.113.7');
    expect(addressKey('::FFFF:127.0.0.1')).toBe('127.0.0.1');
  });
  it('clientAddress takes the last X-Forwarded-For hop only behind a trusted proxy', () => {
    expect(clientAddress('1.1.1.1, 2001:db8:1:2::5', '10.0.0.1', true)).toBe('2001:db8:1:2::/64');
    expect(clientAddress(['9.9.9.9', '8.8.8.8'], '10.0.0.1', true)).toBe('8.8.8.8');
    expect(clientAddress('1.1.1.1', '::ffff:10.0.0.1', false)).toBe('10.0.0.1');
    expect(clientAddress(undefined, '10.0.0.1', true)).toBe('10.0.0.1');
  });
});
