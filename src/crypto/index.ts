export { toHex, fromHex, bytesEqual, concatBytes } from './bytes.ts';
export { sha256, DIGEST_BYTES } from './hash.ts';
export {
  type Ed25519Backend,
  nodeEd25519,
  nobleEd25519,
  ed25519Backend,
  SEED_BYTES,
  PUBLIC_KEY_BYTES,
  SIGNATURE_BYTES,
} from './ed25519.ts';
export { type KeyPair, generateKeyPair, keyPairFromSeed, deterministicKeyPair } from './keys.ts';
export { Signer } from './signer.ts';
export {
  SignatureVerifier,
  type SignatureVerifierOptions,
  type VerifierStats,
  DEFAULT_VERIFIER_CACHE_ENTRIES,
} from './verifier.ts';
export { encodeCbor, decodeCbor } from './canonical-cbor.ts';
