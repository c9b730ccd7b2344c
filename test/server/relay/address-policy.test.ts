import { test } from 'node:test';
import assert from 'node:assert/strict';
import { blockedAddressReason, isAllowedHost, isPublicUnicastAddress, parseAllowHost } from '../../../server/relay/address-policy.ts';

test('public unicast addresses pass, including NAT64, 6to4 and Teredo forms of public IPv4', () => {
  for (const address of [
    '8.8.8.8',
    '93.184.215.14',
    '1.1.1.1',
    '172.32.0.1',
    '100.128.0.1',
    '2606:4700:4700::1111',
    '2a00:1450:4001:80b::200e',
    '::ffff:8.8.8.8',
    '64:ff9b::808:808',
    '2002:808:808::1',
    '2001:0:4136:e378:8000:63bf:f7f7:f7f7',
  ]) {
    assert.equal(blockedAddressReason(address), undefined, address);
  }
});

test('names each refused range', () => {
  assert.equal(blockedAddressReason('127.0.0.1'), 'loopback');
  assert.equal(blockedAddressReason('10.9.8.7'), 'private');
  assert.equal(blockedAddressReason('169.254.169.254'), 'linkLocal');
  assert.equal(blockedAddressReason('100.64.0.1'), 'carrierGradeNat');
  assert.equal(blockedAddressReason('::1'), 'loopback');
  assert.equal(blockedAddressReason('fe80::1'), 'linkLocal');
  assert.equal(blockedAddressReason('fd00::1'), 'uniqueLocal');
  assert.equal(blockedAddressReason('::ffff:192.168.0.1'), 'ipv4Mapped private');
  assert.equal(blockedAddressReason('64:ff9b::a9fe:a9fe'), 'nat64 linkLocal');
  assert.equal(blockedAddressReason('2002:7f00:1::'), '6to4 loopback');
  assert.equal(blockedAddressReason('2001:0:a00:1::'), 'teredo private');
  assert.equal(blockedAddressReason('2001:db8::1'), 'documentation');
});

test('refuses what is outside IPv6 global unicast and anything that is not an IP address', () => {
  for (const address of ['::', '::7f00:1', '::ffff:0:7f00:1', '64:ff9b:1::a00:1', '100::1', 'fec0::1', 'ff02::1', '3fff::1']) {
    assert.equal(isPublicUnicastAddress(address), false, address);
  }
  for (const notAnAddress of ['localhost', 'example.com', '', '127.1', '0x7f000001', 'fe80::1%eth0']) {
    assert.equal(isPublicUnicastAddress(notAnAddress), false, notAnAddress);
  }
});

test('parses allowed hosts with and without ports, IPv6 with and without brackets', () => {
  assert.deepEqual(parseAllowHost('Example.COM'), { host: 'example.com' });
  assert.deepEqual(parseAllowHost('127.0.0.1:8080'), { host: '127.0.0.1', port: 8080 });
  assert.deepEqual(parseAllowHost('[::1]:3000'), { host: '::1', port: 3000 });
  assert.deepEqual(parseAllowHost('[0:0::1]'), { host: '::1' });
  assert.deepEqual(parseAllowHost('::1'), { host: '::1' });
  assert.deepEqual(parseAllowHost('2130706433'), { host: '127.0.0.1' }, 'normalized as URLs are');
  assert.throws(() => parseAllowHost(':8080'));
  assert.throws(() => parseAllowHost('host:0'));
  assert.throws(() => parseAllowHost('host:http'));
  assert.throws(() => parseAllowHost('[::1]x'));
});

test('matches a host case-insensitively, in brackets or not, on any port unless one is given', () => {
  const entries = ['Site.Test', '[::1]', '127.0.0.1:8080'].map(parseAllowHost);
  assert.equal(isAllowedHost(entries, 'site.test', 80), true);
  assert.equal(isAllowedHost(entries, 'SITE.TEST', 443), true);
  assert.equal(isAllowedHost(entries, 'other.test', 80), false);
  assert.equal(isAllowedHost(entries, 'sub.site.test', 80), false, 'no subdomains');
  assert.equal(isAllowedHost(entries, '[::1]', 9999), true);
  assert.equal(isAllowedHost(entries, '::1', 9999), true);
  assert.equal(isAllowedHost(entries, '127.0.0.1', 8080), true);
  assert.equal(isAllowedHost(entries, '127.0.0.1', 8081), false);
  assert.equal(isAllowedHost([], '127.0.0.1', 8080), false);
});
