/**
 * Crypto micro-benchmark: Ed25519 sign/s and verify/s per backend (node:crypto, @noble/ed25519),
 * the SignatureVerifier cache-hit path, and node:crypto verify when calls come one at a time with
 * idle gaps between them (what a replica at low load sees: a cold CPU costs more per call).
 * Part of `npm run bench`; on its own:
 *   npx tsx bench/crypto-micro.ts [ms-per-row]
 */
import { pathToFileURL } from 'node:url';
import { deterministicKeyPair, nobleEd25519, nodeEd25519, SignatureVerifier, type Ed25519Backend } from '../src/crypto/index.ts';

/** Roughly a vote: view, slot, digest, replica id, framing. */
const MESSAGE_BYTES = 128;

export interface CryptoMicroResult {
  messageBytes: number;
  msPerRow: number;
  node: { signPerSec: number; verifyPerSec: number };
  noble: { signPerSec: number; verifyPerSec: number };
  verifierCacheHitsPerSec: number;
  /** node:crypto verify, one call every ~5 ms: microseconds per call. */
  nodeVerifyPacedUs: number;
}

/** Runs `op` in batches for `ms` of wall time; returns operations per second. */
function measure(op: (i: number) => void, ms: number): number {
  for (let i = 0; i < 50; i++) op(i); // warm-up: JIT, key caches, noble's precomputes
  let n = 0;
  const start = performance.now();
  let now = start;
  while (now - start < ms) {
    for (let j = 0; j < 16; j++) op(n++);
    now = performance.now();
  }
  return (n * 1000) / (now - start);
}

export async function runCryptoMicro(msPerRow = 1000): Promise<CryptoMicroResult> {
  const { seed, publicKey } = deterministicKeyPair('bench');
  const messages = Array.from({ length: 256 }, (_, i) => new Uint8Array(MESSAGE_BYTES).fill(i));
  const signatures = messages.map((m) => nodeEd25519.sign(seed, m));
  const rates = (backend: Ed25519Backend) => ({
    signPerSec: Math.round(measure((i) => backend.sign(seed, messages[i & 255]!), msPerRow)),
    verifyPerSec: Math.round(
      measure((i) => {
        if (!backend.verify(publicKey, messages[i & 255]!, signatures[i & 255]!)) throw new Error('verification failed');
      }, msPerRow),
    ),
  });
  const node = rates(nodeEd25519);
  const noble = rates(nobleEd25519);
  const verifier = new SignatureVerifier();
  for (let i = 0; i < 256; i++) verifier.verify(publicKey, messages[i]!, signatures[i]!);
  const verifierCacheHitsPerSec = Math.round(measure((i) => verifier.verify(publicKey, messages[i & 255]!, signatures[i & 255]!), msPerRow / 2));
  // Paced: one verify every ~5 ms (a replica at low load); wall time inside the call.
  const calls = Math.max(40, Math.round(msPerRow / 10));
  let inside = 0;
  for (let i = 0; i < calls; i++) {
    await new Promise((r) => setTimeout(r, 5));
    const t = performance.now();
    nodeEd25519.verify(publicKey, messages[i & 255]!, signatures[i & 255]!);
    inside += performance.now() - t;
  }
  return { messageBytes: MESSAGE_BYTES, msPerRow, node, noble, verifierCacheHitsPerSec, nodeVerifyPacedUs: Math.round((inside / calls) * 1000) };
}

export function formatCryptoMicro(r: CryptoMicroResult): string[] {
  const f = (x: number) => Math.round(x).toLocaleString('en-US').padStart(9);
  return [
    `Ed25519, ${r.messageBytes}-byte messages, one core, ~${r.msPerRow} ms per figure:`,
    `  node:crypto (OpenSSL)  sign/s ${f(r.node.signPerSec)}   verify/s ${f(r.node.verifyPerSec)}   (${(1e6 / r.node.verifyPerSec).toFixed(0)} µs per verify)`,
    `  @noble/ed25519         sign/s ${f(r.noble.signPerSec)}   verify/s ${f(r.noble.verifyPerSec)}   (node:crypto is ${(r.node.verifyPerSec / r.noble.verifyPerSec).toFixed(1)}× faster at verifying)`,
    `  SignatureVerifier cache hits/s ${f(r.verifierCacheHitsPerSec)}`,
    `  node:crypto verify with ~5 ms idle between calls: ${r.nodeVerifyPacedUs} µs per verify (${((r.nodeVerifyPacedUs * r.node.verifyPerSec) / 1e6).toFixed(1)}× the back-to-back cost: an idle core comes back cold)`,
  ];
}

if (process.argv[1] && import.meta.url === pathToFileURL(process.argv[1]).href) {
  const ms = Number(process.argv[2] ?? 1000);
  console.log(`node ${process.version}`);
  for (const line of formatCryptoMicro(await runCryptoMicro(ms))) console.log(line);
}
