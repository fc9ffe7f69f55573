import { customAlphabet } from 'nanoid';
import { ROOM_CODE_ALPHABET, ROOM_CODE_LENGTH } from '../contract/limits.js';

/** 31^6 ≈ 887 million codes; uniqueness among live rooms is enforced by the store. */
export const generateRoomCode: () => string = customAlphabet(ROOM_CODE_ALPHABET, ROOM_CODE_LENGTH);

const shape = new RegExp(`^[${ROOM_CODE_ALPHABET}]{${ROOM_CODE_LENGTH}}$`);

/** Case-insensitive, surrounding spaces ignored; null when it cannot be a code. */
export function normalizeRoomCode(input: string): string | null {
  const code = input.trim().toUpperCase();
  return shape.test(code) ? code : null;
}
