import { customAlphabet } from 'nanoid';
import { ROOM_CODE_ALPHABET, ROOM_CODE_LENGTH } from '../contract/limits.js';

/** 31^6 ≈ 887 million codes; uniqueness among live rooms is enforced by the store. */
export const generateRoomCode: () => string = customAlphabet(ROOM_CODE_ALPHABET, ROOM_CODE_LENGTH);
