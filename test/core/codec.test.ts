/**
 * The wire codec: every message type round-trips byte for byte; malformed, oversize and
 * non-canonical frames are refused with a named reason; and no input makes decodeMessage throw.
 */
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { encodeCbor } from '../../src/crypto/canonical-cbor.ts';
import { limits } from '../../src/codec/limits.ts';
import { decodeMessage, encodeMessage, toWire } from '../../src/codec/wire.ts';
import type { Message, ReplyMsg } from '../../src/core/messages.ts';
import { batchDigest, Harness, hex, plain } from './harness.ts';

const h = new Harness({ params: { checkpointInterval: 4, window: 8 } });
const r1 = h.put(0, 'k', 'v');
const r2 = h.get(1, 'k');
const batch = [r1, r2];
const D = batchDigest(batch);

function reply(): ReplyMsg {
  const result = new Uint8Array([0x82, 0x61, 0x76, 0xf6]);
  // Leaf 1 of a 3-leaf tree: a path of two digests.
  const path = [new Uint8Array(32).fill(1), new Uint8Array(32).fill(2)];
  return { type: 'reply', epoch: 0, view: 2, clientId: 0, ts: 1, result, slot: 9, from: 3, index: 1, size: 3, path, sig: h.sign(3, h.auth.statements.replies(2, 9, 3, new Uint8Array(32))) };
}

/** One message of every type, with every optional part present somewhere. */
function oneOfEach(): Message[] {
  const vcFull = h.viewChange(2, 1, {
    checkpoint: h.checkpointCert(4, new Uint8Array(32).fill(3), [0, 1, 2]),
    slots: [
      { slot: 5, lastVote: { view: 0, digest: D, leaderSig: h.voteSig('accept', 0, 0, 5, D) } },
      { slot: 6, lastVote: { view: 0, digest: D, leaderSig: h.voteSig('accept', 0, 0, 6, D) }, prepared: h.voteCert('accept', 0, 6, D, [0, 1, 3]), decided: h.decisionCert('commit', 0, 6, D, [1, 2, 3]) },
    ],
    batches: [batch],
  });
  const vcs = [h.viewChange(1, 1), vcFull, h.viewChange(3, 1)];
  return [
    { type: 'request', request: r1 },
    h.propose(0, 1, batch),
    h.propose(0, 2, []),
    h.accept(1, 0, 1, D),
    h.commit(2, 0, 1, D),
    h.checkpoint(3, 4, new Uint8Array(32).fill(9)),
    vcFull,
    h.newView(1, vcs, [h.propose(1, 5, batch), h.propose(1, 6, [])]),
    reply(),
    h.status(0, 3, 100, 96),
    h.decision(1, batch, h.decisionCert('commit', 0, 1, D, [0, 1, 2])),
    h.state(2, h.checkpointCert(4, new Uint8Array(32).fill(3), [0, 1, 2]), new Uint8Array([1, 2, 3, 4])),
    { type: 'config-query', since: 3 },
    { type: 'config-proof', links: [{ membership: new Uint8Array([0x80]), restHash: new Uint8Array(32).fill(5), cert: h.checkpointCert(4, new Uint8Array(32).fill(3), [0, 1, 2]) }] },
  ];
}

describe('round trip', () => {
  it('every message type decodes to itself and re-encodes to the same bytes', () => {
    const msgs = oneOfEach();
    expect(new Set(msgs.map((m) => m.type)).size).toBe(13);
    for (const m of msgs) {
      const frame = encodeMessage(m);
      const d = decodeMessage(frame);
      expect(d.ok, `${m.type}: ${d.ok ? '' : d.reason}`).toBe(true);
      if (!d.ok) continue;
      expect(plain(d.message)).toEqual(plain(m));
      expect(hex(encodeMessage(d.message))).toBe(hex(frame));
    }
  });

  it('decoded signatures still verify (the codec preserves what was signed)', () => {
    const [, , , accept, , , vc, nv] = oneOfEach();
    const a = decodeMessage(encodeMessage(accept!));
    if (!a.ok || a.message.type !== 'accept') throw new Error('accept did not decode');
    expect(h.auth.verifyVote('accept', 1, a.message.view, a.message.slot, a.message.digest, a.message.sig)).toBe(true);
    const v = decodeMessage(encodeMessage(vc!));
    if (!v.ok || v.message.type !== 'view-change') throw new Error('view-change did not decode');
    expect(h.auth.verifyReplica(2, h.auth.statements.viewChange(v.message), v.message.sig)).toBe(true);
    const n = decodeMessage(encodeMessage(nv!));
    if (!n.ok || n.message.type !== 'new-view') throw new Error('new-view did not decode');
    expect(h.auth.verifyReplica(1, h.auth.statements.newView(n.message), n.message.sig)).toBe(true);
  });
});

/** Encodes a raw wire array (anything cbor-x can encode) as a frame. */
const raw = (x: unknown): Uint8Array => encodeCbor(x);
const reason = (frame: Uint8Array): string => {
  const d = decodeMessage(frame);
  if (d.ok) throw new Error(`accepted: ${d.message.type}`);
  return d.reason;
};

describe('rejections, by name', () => {
  const sig = new Uint8Array(64).fill(1);
  const dig = new Uint8Array(32).fill(2);
  const acceptWire = (over: Partial<Record<'view' | 'slot' | 'digest' | 'from' | 'sig', unknown>> = {}) => [
    3,
    'view' in over ? over.view : 0,
    'slot' in over ? over.slot : 1,
    'digest' in over ? over.digest : dig,
    'from' in over ? over.from : 2,
    'sig' in over ? over.sig : sig,
  ];

  it('the baseline wire array is accepted', () => {
    const d = decodeMessage(raw(acceptWire()));
    expect(d.ok).toBe(true);
  });

  it('malformed CBOR', () => {
    expect(reason(new Uint8Array([0xff]))).toMatch(/^malformed CBOR: /);
    expect(reason(new Uint8Array([]))).toMatch(/^malformed CBOR: /);
    const good = raw(acceptWire());
    expect(reason(good.subarray(0, good.length - 1))).toMatch(/^malformed CBOR: /);
  });

  it('trailing bytes after one complete item', () => {
    const good = raw(acceptWire());
    const r = reason(new Uint8Array([...good, 0x00]));
    expect(r).toMatch(/^malformed CBOR: /);
    expect(r).toContain('end of buffer not reached');
  });

  it('not an array, and an unknown type tag', () => {
    expect(reason(raw(5))).toBe('message: not an array');
    expect(reason(raw({ a: 1 }))).toBe('message: not an array');
    expect(reason(raw([99, 1, 2]))).toBe('unknown message type tag 99');
    expect(reason(raw([0]))).toBe('unknown message type tag 0');
    expect(reason(raw(['accept', 0, 1, dig, 2, sig]))).toBe('unknown message type tag accept');
    expect(reason(raw([]))).toBe('unknown message type tag undefined');
  });

  it('wrong field counts', () => {
    expect(reason(raw(acceptWire().slice(0, 5)))).toBe('accept: expected 5 fields, got 4');
    expect(reason(raw([...acceptWire(), 7]))).toBe('accept: expected 5 fields, got 6');
    expect(reason(raw([4, 0, 1, dig, 2]))).toBe('commit: expected 5 fields, got 4');
    expect(reason(raw([2, 0, 1, [], sig, 0]))).toBe('propose: expected 4 fields, got 5');
    expect(reason(raw([1, [0, 1, new Uint8Array(1), sig], 0]))).toBe('request message: expected 1 fields, got 2');
    expect(reason(raw([1, [0, 1, new Uint8Array(1)]]))).toBe('request: expected 4 fields, got 3');
    expect(reason(raw([9, 0, 0, 0, 0]))).toBe('status: expected 6 fields, got 4');
  });

  it('a negative, fractional, or unsafe integer', () => {
    expect(reason(raw(acceptWire({ view: -1 })))).toBe('accept.view: not a non-negative integer');
    expect(reason(raw(acceptWire({ slot: 1.5 })))).toBe('accept.slot: not a non-negative integer');
    expect(reason(raw(acceptWire({ view: 2 ** 53 })))).toBe('accept.view: not a non-negative integer');
    expect(reason(raw(acceptWire({ view: '0' })))).toBe('accept.view: not a non-negative integer');
    expect(reason(raw(acceptWire({ view: null })))).toBe('accept.view: not a non-negative integer');
  });

  it('a replica id above the limit', () => {
    expect(reason(raw(acceptWire({ from: 1_048_576 })))).toBe('accept.from: 1048576 exceeds 1048575');
  });

  it('a 31-byte digest and a 63-byte signature', () => {
    expect(reason(raw(acceptWire({ digest: new Uint8Array(31) })))).toBe('accept.digest: expected 32 bytes, got 31');
    expect(reason(raw(acceptWire({ digest: new Uint8Array(33) })))).toBe('accept.digest: expected 32 bytes, got 33');
    expect(reason(raw(acceptWire({ sig: new Uint8Array(63) })))).toBe('accept.sig: expected 64 bytes, got 63');
    expect(reason(raw(acceptWire({ sig: 'x'.repeat(64) })))).toBe('accept.sig: not a byte string');
  });

  it('an oversize op (limits.maxOpBytes + 1), while maxOpBytes itself passes the codec', () => {
    const max = limits.maxOpBytes;
    const over = raw([1, [0, 1, new Uint8Array(max + 1), sig]]);
    expect(reason(over)).toBe(`request.op: ${max + 1} bytes exceeds ${max}`);
    expect(decodeMessage(raw([1, [0, 1, new Uint8Array(max), sig]])).ok).toBe(true);
  });

  it('an oversize frame is refused before parsing', () => {
    const frame = new Uint8Array(limits.maxFrameBytes + 1);
    expect(reason(frame)).toBe(`frame of ${limits.maxFrameBytes + 1} bytes exceeds ${limits.maxFrameBytes}`);
  });

  it('a batch with too many requests', () => {
    const req = [0, 1, new Uint8Array(0), sig];
    const many = Array.from({ length: limits.maxBatchRequests + 1 }, () => req);
    expect(reason(raw([2, 0, 1, many, sig]))).toBe(`batch: ${limits.maxBatchRequests + 1} items exceeds limit ${limits.maxBatchRequests}`);
  });

  it('non-canonical encodings of valid content', () => {
    const good = raw(acceptWire());
    // [0x86, 0x03, view=0x00, slot=0x01, 0x58 0x20 <32 bytes>, from=0x02, 0x58 0x40 <64 bytes>]
    expect([...good.subarray(0, 6)]).toEqual([0x86, 0x03, 0x00, 0x01, 0x58, 0x20]);
    const withGood = (i: number, replacement: number[]) => new Uint8Array([...good.subarray(0, i), ...replacement, ...good.subarray(i + 1)]);
    // The view 0 as a one-byte-argument integer (0x18 0x00) instead of 0x00.
    expect(reason(withGood(2, [0x18, 0x00]))).toBe('non-canonical encoding');
    // The slot 1 as a two-byte integer.
    expect(reason(withGood(3, [0x19, 0x00, 0x01]))).toBe('non-canonical encoding');
    // The slot 1 as a half-precision float 1.0.
    expect(reason(withGood(3, [0xf9, 0x3c, 0x00]))).toBe('non-canonical encoding');
    // The view as the float -0.0, which decodes to a number that passes the integer check.
    expect(reason(withGood(2, [0xf9, 0x80, 0x00]))).toBe('non-canonical encoding');
    // The digest's length in a two-byte argument (0x59 0x00 0x20) instead of 0x58 0x20.
    expect(reason(new Uint8Array([...good.subarray(0, 4), 0x59, 0x00, 0x20, ...good.subarray(6)]))).toBe('non-canonical encoding');
    // The outer array with an indefinite length.
    expect(reason(new Uint8Array([0x9f, ...good.subarray(1), 0xff]))).toBe('non-canonical encoding');
  });

  it('frames whose content is valid but which cbor-x tags (typed arrays) are refused', () => {
    // Tag 64 (uint8 typed array) around the digest: decodes to a Uint8Array, re-encodes untagged.
    const good = raw(acceptWire());
    const tagged = new Uint8Array([...good.subarray(0, 4), 0xd8, 0x40, ...good.subarray(4)]);
    expect(reason(tagged)).toBe('non-canonical encoding');
  });
});

describe('never throws', () => {
  it('arbitrary bytes: decodeMessage returns a result, and whatever it accepts is canonical', () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 256 }), (bytes) => {
        const d = decodeMessage(bytes);
        if (d.ok) expect(hex(encodeMessage(d.message))).toBe(hex(bytes));
        else expect(typeof d.reason).toBe('string');
      }),
      { numRuns: 3000, seed: 42 },
    );
  });

  it('mutated valid frames (byte flips, truncations, insertions) never throw', () => {
    const frames = oneOfEach().map(encodeMessage);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: frames.length - 1 }),
        fc.array(fc.tuple(fc.nat(), fc.integer({ min: 0, max: 255 }), fc.constantFrom('set', 'insert', 'delete', 'truncate')), { minLength: 1, maxLength: 4 }),
        (which, edits) => {
          let f = [...frames[which]!];
          for (const [pos, byte, kind] of edits) {
            const i = f.length === 0 ? 0 : pos % f.length;
            if (kind === 'set') f[i] = byte;
            else if (kind === 'insert') f.splice(i, 0, byte);
            else if (kind === 'delete') f.splice(i, 1);
            else f = f.slice(0, i);
          }
          const bytes = new Uint8Array(f);
          const d = decodeMessage(bytes);
          if (d.ok) expect(hex(encodeMessage(d.message))).toBe(hex(bytes));
        },
      ),
      { numRuns: 1500, seed: 7 },
    );
  });

  it('structured garbage: arbitrary CBOR values under a valid type tag never throw', () => {
    const leaf = fc.oneof(fc.integer(), fc.double(), fc.constant(null), fc.boolean(), fc.string({ maxLength: 4 }), fc.uint8Array({ maxLength: 70 }));
    const value = fc.letrec((tie) => ({
      node: fc.oneof({ depthSize: 'small' }, leaf, fc.array(tie('node'), { maxLength: 6 })),
    })).node;
    fc.assert(
      fc.property(fc.integer({ min: 0, max: 14 }), fc.array(value, { maxLength: 8 }), (tag, fields) => {
        const d = decodeMessage(raw([tag, ...fields]));
        expect(typeof d.ok).toBe('boolean');
      }),
      { numRuns: 1500, seed: 11 },
    );
  });

  it('toWire and encodeMessage agree', () => {
    for (const m of oneOfEach()) expect(hex(encodeCbor(toWire(m)))).toBe(hex(encodeMessage(m)));
  });
});
