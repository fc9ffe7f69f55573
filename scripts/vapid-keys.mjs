#!/usr/bin/env node
/**
 * Prints a new VAPID key pair (RFC 8292) as environment lines for Web Push (docs/push.md):
 *   node scripts/vapid-keys.mjs [subject]   # subject: mailto:you@example.com or an https: URL
 * Keep the private key secret; changing the pair invalidates every browser subscription.
 */
import webpush from 'web-push';

const subject = process.argv[2] ?? 'mailto:ops@example.com';
if (!/^(mailto:[^\s@]+@[^\s@]+|https:\/\/\S+)$/.test(subject)) {
  console.error(`subject must be a mailto: address or an https: URL, got ${subject}`);
  process.exit(2);
}
const { publicKey, privateKey } = webpush.generateVAPIDKeys();
console.log(`VAPID_PUBLIC_KEY=${publicKey}`);
console.log(`VAPID_PRIVATE_KEY=${privateKey}`);
console.log(`VAPID_SUBJECT=${subject}`);
