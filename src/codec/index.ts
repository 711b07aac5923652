export { limits } from './limits.ts';
export { encodeMessage, decodeMessage, toWire, DecodeError, type DecodeResult } from './wire.ts';
