/**
 * The Web Push settings (docs/push.md): all three VAPID variables or none, each checked
 * for its form at start and named when wrong; the defaults of the rest.
 */
import webpush from 'web-push';
import { describe, expect, it } from 'vitest';
import { ConfigError, loadConfig } from '../../src/config.js';

const keys = webpush.generateVAPIDKeys();
const vapid = { VAPID_PUBLIC_KEY: keys.publicKey, VAPID_PRIVATE_KEY: keys.privateKey, VAPID_SUBJECT: 'mailto:ops@example.com' };

describe('Web Push configuration', () => {
  it('off without keys; on with all three, with the defaults of the rest', () => {
    expect(loadConfig({}).push).toBeNull();
    expect(loadConfig(vapid).push).toEqual({
      vapid: { publicKey: keys.publicKey, privateKey: keys.privateKey, subject: 'mailto:ops@example.com' },
      allowHttp: false,
      reminderLeadMs: 300_000,
      timeoutMs: 10_000,
      leaseMs: 30_000,
      workerNice: 5,
      workerIdle: false,
    });
    expect(loadConfig({ ...vapid, VAPID_SUBJECT: 'https://focus.example.com/contact', PUSH_ALLOW_HTTP: 'true', REMINDER_LEAD_MS: '60000' }).push).toMatchObject({ allowHttp: true, reminderLeadMs: 60_000 });
    expect(loadConfig({ ...vapid, PUSH_WORKER_IDLE: 'true', PUSH_WORKER_NICE: '19' }).push).toMatchObject({ workerIdle: true, workerNice: 19 });
  });

  it('refuses one or two of the three, naming them', () => {
    expect(() => loadConfig({ VAPID_PUBLIC_KEY: keys.publicKey })).toThrow(/VAPID_PUBLIC_KEY: VAPID_PUBLIC_KEY, VAPID_PRIVATE_KEY and VAPID_SUBJECT must be set together/);
    expect(() => loadConfig({ ...vapid, VAPID_SUBJECT: '' })).toThrow(ConfigError);
  });

  it('refuses keys of the wrong form and a subject that is not mailto: or https:', () => {
    expect(() => loadConfig({ ...vapid, VAPID_PUBLIC_KEY: keys.privateKey })).toThrow(/VAPID_PUBLIC_KEY: must be an uncompressed P-256 public key/);
    expect(() => loadConfig({ ...vapid, VAPID_PRIVATE_KEY: keys.publicKey })).toThrow(/VAPID_PRIVATE_KEY: must be a P-256 private key/);
    expect(() => loadConfig({ ...vapid, VAPID_PRIVATE_KEY: 'not base64url!' })).toThrow(/VAPID_PRIVATE_KEY/);
    for (const subject of ['ops@example.com', 'http://example.com', 'mailto:nobody']) {
      expect(() => loadConfig({ ...vapid, VAPID_SUBJECT: subject }), subject).toThrow(/VAPID_SUBJECT: must be a mailto: address or an https: URL/);
    }
    expect(() => loadConfig({ ...vapid, REMINDER_LEAD_MS: '10' })).toThrow(/REMINDER_LEAD_MS/);
  });
});
