/**
 * Server-issued user keys: a key is `random || tag`, 12 random bytes
 * and the first 12 bytes of HMAC-SHA256(secret, random), both base64url (32 characters,
 * the length keys always had). A key the server did not issue — guessed, made up, or
 * issued under another secret — fails the tag check, so it is refused without a store read.
 * The secret comes from USER_KEY_SECRET, else one generated and kept (DATA_DIR or Redis;
 * runtime/user-key-secret.ts).
 */
import { createHmac, randomBytes, timingSafeEqual } from 'node:crypto';

const RANDOM_BYTES = 12;
const TAG_BYTES = 12;
/** base64url of 12 bytes: 16 characters, no padding. */
const PART_CHARS = 16;

export class UserKeys {
  constructor(private readonly secret: Buffer) {}

  issue(): string {
    const random = randomBytes(RANDOM_BYTES);
    return random.toString('base64url') + this.tag(random).toString('base64url');
  }

  /** True for a key this server (or one sharing its secret) issued. */
  valid(key: string): boolean {
    if (key.length !== 2 * PART_CHARS) return false;
    const random = Buffer.from(key.slice(0, PART_CHARS), 'base64url');
    const tag = Buffer.from(key.slice(PART_CHARS), 'base64url');
    // Decoding is lenient: only the canonical spelling of each part is accepted.
    if (random.length !== RANDOM_BYTES || tag.length !== TAG_BYTES || random.toString('base64url') + tag.toString('base64url') !== key) return false;
    return timingSafeEqual(tag, this.tag(random));
  }

  private tag(random: Buffer): Buffer {
    return createHmac('sha256', this.secret).update('focusroom user_key\0').update(random).digest().subarray(0, TAG_BYTES);
  }
}
