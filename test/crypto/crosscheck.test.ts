// node:crypto and noble must agree byte for byte: same keys, same signatures, same verdicts.
import { describe, expect, it } from 'vitest';
import fc from 'fast-check';
import { nobleEd25519, nodeEd25519 } from '../../src/crypto/ed25519.ts';
import { torsion, craftSignature, secretScalar, Point } from './adversarial.ts';

const seedArb = fc.uint8Array({ minLength: 32, maxLength: 32 });
const msgArb = fc.uint8Array({ maxLength: 300 });

describe('node and noble backends agree', () => {
  it('identical public keys and signatures; each verifies the other', () => {
    fc.assert(
      fc.property(seedArb, msgArb, (seed, msg) => {
        const pkNode = nodeEd25519.publicKey(seed);
        const pkNoble = nobleEd25519.publicKey(seed);
        expect(pkNode).toEqual(pkNoble);
        const sigNode = nodeEd25519.sign(seed, msg);
        const sigNoble = nobleEd25519.sign(seed, msg);
        expect(sigNode).toEqual(sigNoble);
        expect(sigNode.length).toBe(64);
        expect(nobleEd25519.verify(pkNode, msg, sigNode)).toBe(true);
        expect(nodeEd25519.verify(pkNoble, msg, sigNoble)).toBe(true);
      }),
      { numRuns: 150 },
    );
  });

  it('same verdict (and no throw) on random key/signature bytes', () => {
    fc.assert(
      fc.property(
        fc.uint8Array({ minLength: 32, maxLength: 32 }),
        msgArb,
        fc.uint8Array({ minLength: 64, maxLength: 64 }),
        (pk, msg, sig) => {
          const a = nodeEd25519.verify(pk, msg, sig);
          const b = nobleEd25519.verify(pk, msg, sig);
          expect(a).toBe(b);
          expect(a).toBe(false); // a random triple verifying would be a forgery
        },
      ),
      { numRuns: 300 },
    );
  });

  it('same verdict when R and A carry arbitrary small-order (torsion) components', () => {
    // Signer-crafted signatures: R = rB + [i]T8, A = aB + [j]T8. The cofactored equation (noble's
    // own verify) accepts all of these; the cofactorless one does not. Both backends must
    // return the same answer for every combination.
    fc.assert(
      fc.property(
        seedArb,
        msgArb,
        fc.bigInt({ min: 1n, max: 2n ** 250n }),
        fc.integer({ min: 0, max: 7 }),
        fc.integer({ min: 0, max: 7 }),
        (seed, msg, r, i, j) => {
          const a = secretScalar(seed);
          const A = Point.BASE.multiply(a).add(torsion(j)).toBytes();
          const sig = craftSignature(a, A, msg, r, torsion(i));
          const viaNode = nodeEd25519.verify(A, msg, sig);
          expect(nobleEd25519.verify(A, msg, sig)).toBe(viaNode);
          if (i === 0 && j === 0) expect(viaNode).toBe(true);
          if (i !== 0 && j === 0) expect(viaNode).toBe(false);
        },
      ),
      { numRuns: 200 },
    );
  });
});
