// Opt-in crypto micro-benchmark: sign/s and verify/s per Ed25519 backend, plus the
// SignatureVerifier cache-hit path. Each measurement runs for ~1 s of wall time.
//   npx tsx bench/crypto-micro.ts
import {
  deterministicKeyPair,
  nobleEd25519,
  nodeEd25519,
  SignatureVerifier,
  type Ed25519Backend,
} from '../src/crypto/index.ts';

const DURATION_MS = 1000;
const MESSAGE_BYTES = 128; // roughly a vote: view, slot, digest, replica id, framing

/** Runs `op` in batches until DURATION_MS elapses; returns operations per second. */
function measure(op: (i: number) => void): number {
  for (let i = 0; i < 50; i++) op(i); // warm-up: JIT, key caches, noble's precomputes
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < DURATION_MS) {
    for (let j = 0; j < 16; j++) op(n++);
    now = performance.now();
  }
  return (n * 1000) / (now - start);
}

const fmt = (x: number) => Math.round(x).toLocaleString('en-US').padStart(10);

const { seed, publicKey } = deterministicKeyPair('bench');
const messages = Array.from({ length: 256 }, (_, i) => {
  const m = new Uint8Array(MESSAGE_BYTES);
  m.fill(i);
  return m;
});
const signatures = messages.map((m) => nodeEd25519.sign(seed, m));

console.log(`node ${process.version}, ${MESSAGE_BYTES}-byte messages, ~${DURATION_MS} ms per row`);
for (const backend of [nodeEd25519, nobleEd25519] as Ed25519Backend[]) {
  const signRate = measure((i) => backend.sign(seed, messages[i & 255]!));
  const verifyRate = measure((i) => {
    if (!backend.verify(publicKey, messages[i & 255]!, signatures[i & 255]!)) throw new Error('bad');
  });
  console.log(`${backend.name.padEnd(6)} sign/s ${fmt(signRate)}   verify/s ${fmt(verifyRate)}`);
}

const verifier = new SignatureVerifier();
for (let i = 0; i < 256; i++) verifier.verify(publicKey, messages[i]!, signatures[i]!);
const hitRate = measure((i) => verifier.verify(publicKey, messages[i & 255]!, signatures[i & 255]!));
console.log(`SignatureVerifier cache hits/s ${fmt(hitRate)}  (stats ${JSON.stringify(verifier.stats)})`);
