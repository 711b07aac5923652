/**
 * Key-value commands and results, and their canonical CBOR encodings.
 *
 * Wire shapes are CBOR arrays with a fixed field order (an array has one encoding; a map's key
 * order would be one more thing for replicas to agree on):
 *
 *   command                                   result
 *   ['get', key]                              ['v', value | null]
 *   ['put', key, value]                       ['cas', ok, value | null]
 *   ['delete', key]                           ['err', reason]
 *   ['cas', key, expected | null, value]
 *
 * Decoding is strict and canonical: a command is accepted only if it is exactly the bytes
 * `encodeKvCommand` produces for it. One command therefore has one byte string, so request
 * digests and duplicate detection can never be fooled by a re-encoding, and decoder leniency
 * (invalid UTF-8 silently replaced, non-minimal lengths, tags) can never make two replicas read
 * different commands from the same bytes.
 */
import { bytesEqual, cborDecode, cborEncode } from './cbor.ts';
import { isBoundedString, utf8Length } from './utf8.ts';

export type KvCommand =
  | { op: 'get'; key: string }
  | { op: 'put'; key: string; value: string }
  | { op: 'delete'; key: string }
  | { op: 'cas'; key: string; expected: string | null; value: string };

/**
 * get, put, delete -> `{ value }`: the value before the op (null = absent).
 * cas -> `{ ok, value }`: swapped iff the current value equalled `expected`; value before the op.
 * malformed command -> `{ error }` with a reason from `KV_COMMAND_ERRORS`.
 */
export type KvResult = { value: string | null } | { ok: boolean; value: string | null } | { error: string };

/** Longest key, in UTF-8 bytes. */
export const MAX_KEY_BYTES = 256;
/** Longest value (and cas `expected`), in UTF-8 bytes: 64 KiB. */
export const MAX_VALUE_BYTES = 64 * 1024;
/**
 * Longest valid encoded command: the largest cas. Array header 1 + 'cas' 4 + key (3-byte header
 * + 256) + expected and value (5-byte header + 65536 each). Checked before decoding so oversized
 * garbage costs nothing to refuse.
 */
export const MAX_COMMAND_BYTES = 1 + 4 + (3 + MAX_KEY_BYTES) + 2 * (5 + MAX_VALUE_BYTES);
/** Longest error reason a result may carry, in UTF-8 bytes. */
export const MAX_ERROR_REASON_BYTES = 256;
/** Longest valid encoded result: a cas result carrying a maximal value. */
export const MAX_RESULT_BYTES = 1 + 4 + 1 + (5 + MAX_VALUE_BYTES);

/**
 * Why a command was refused, checked in this order (so the reason is deterministic):
 * - too-large: more than MAX_COMMAND_BYTES bytes
 * - malformed-cbor: not exactly one well-formed CBOR item
 * - not-array: the item is not an array
 * - unknown-op: element 0 is not 'get' | 'put' | 'delete' | 'cas'
 * - bad-arity: wrong number of elements for the op
 * - bad-key: key not a well-formed string of at most MAX_KEY_BYTES UTF-8 bytes
 * - bad-expected: cas expected neither null nor a valid value string
 * - bad-value: value not a well-formed string of at most MAX_VALUE_BYTES UTF-8 bytes
 * - non-canonical: valid content, but not the canonical bytes (non-minimal lengths,
 *   indefinite-length items, tags, invalid UTF-8, ...)
 */
export const KV_COMMAND_ERRORS = [
  'too-large',
  'malformed-cbor',
  'not-array',
  'unknown-op',
  'bad-arity',
  'bad-key',
  'bad-expected',
  'bad-value',
  'non-canonical',
] as const;
export type KvCommandError = (typeof KV_COMMAND_ERRORS)[number];

/** What `decodeKvResult` returns for bytes that are not a valid result (e.g. from a faulty replica). */
export const MALFORMED_RESULT = 'malformed-result';

// ---------------------------------------------------------------------------------------------
// Commands

/**
 * Canonical bytes of a command. Throws a RangeError for a command `decodeKvCommand` would refuse
 * (e.g. an oversized key or a string with a lone surrogate): failing at the client beats having
 * the command ordered and answered with an error.
 */
export function encodeKvCommand(c: KvCommand): Uint8Array {
  const wire = commandToWire(c);
  const parsed = parseCommand(wire);
  if ('error' in parsed) throw new RangeError(`encodeKvCommand: invalid command (${parsed.error})`);
  return cborEncode(wire);
}

/** Strictly decodes a command; never throws. See KV_COMMAND_ERRORS for the refusal reasons. */
export function decodeKvCommand(bytes: Uint8Array): KvCommand | { error: KvCommandError } {
  if (!(bytes instanceof Uint8Array)) return { error: 'malformed-cbor' };
  if (bytes.length > MAX_COMMAND_BYTES) return { error: 'too-large' };
  const decoded = cborDecode(bytes);
  if (!decoded.ok) return { error: 'malformed-cbor' };
  const parsed = parseCommand(decoded.value);
  if ('error' in parsed) return parsed;
  // Re-encoding can not throw here: parseCommand admitted only bounded, well-formed strings.
  if (!bytesEqual(cborEncode(commandToWire(parsed)), bytes)) return { error: 'non-canonical' };
  return parsed;
}

function commandToWire(c: KvCommand): unknown[] {
  switch (c.op) {
    case 'get':
      return ['get', c.key];
    case 'put':
      return ['put', c.key, c.value];
    case 'delete':
      return ['delete', c.key];
    case 'cas':
      return ['cas', c.key, c.expected, c.value];
    default:
      // Unreachable for well-typed input; keeps encodeKvCommand's error path uniform for JS callers.
      return [(c as { op?: unknown }).op];
  }
}

const isKey = (x: unknown): x is string => isBoundedString(x, MAX_KEY_BYTES);
const isValue = (x: unknown): x is string => isBoundedString(x, MAX_VALUE_BYTES);

// Builds a fresh object with exactly the typed fields: nothing from the decoded value leaks through.
function parseCommand(w: unknown): KvCommand | { error: KvCommandError } {
  if (!Array.isArray(w)) return { error: 'not-array' };
  const arity = (n: number): boolean => w.length === n;
  switch (w[0]) {
    case 'get': {
      if (!arity(2)) return { error: 'bad-arity' };
      const key: unknown = w[1];
      if (!isKey(key)) return { error: 'bad-key' };
      return { op: 'get', key };
    }
    case 'put': {
      if (!arity(3)) return { error: 'bad-arity' };
      const key: unknown = w[1];
      const value: unknown = w[2];
      if (!isKey(key)) return { error: 'bad-key' };
      if (!isValue(value)) return { error: 'bad-value' };
      return { op: 'put', key, value };
    }
    case 'delete': {
      if (!arity(2)) return { error: 'bad-arity' };
      const key: unknown = w[1];
      if (!isKey(key)) return { error: 'bad-key' };
      return { op: 'delete', key };
    }
    case 'cas': {
      if (!arity(4)) return { error: 'bad-arity' };
      const key: unknown = w[1];
      const expected: unknown = w[2];
      const value: unknown = w[3];
      if (!isKey(key)) return { error: 'bad-key' };
      if (expected !== null && !isValue(expected)) return { error: 'bad-expected' };
      if (!isValue(value)) return { error: 'bad-value' };
      return { op: 'cas', key, expected, value };
    }
    default:
      return { error: 'unknown-op' };
  }
}

// ---------------------------------------------------------------------------------------------
// Results

/** Canonical bytes of a result. Throws a RangeError for a result `decodeKvResult` would refuse. */
export function encodeKvResult(r: KvResult): Uint8Array {
  const wire = resultToWire(r);
  if (parseResult(wire) === null) throw new RangeError('encodeKvResult: invalid result');
  return cborEncode(wire);
}

/**
 * Strictly decodes a result; never throws. Bytes that are not exactly a canonical result decode
 * to `{ error: MALFORMED_RESULT }`, so a client can treat a faulty replica's reply like any other
 * non-matching reply instead of crashing on it.
 */
export function decodeKvResult(bytes: Uint8Array): KvResult {
  const malformed = { error: MALFORMED_RESULT };
  if (!(bytes instanceof Uint8Array) || bytes.length > MAX_RESULT_BYTES) return malformed;
  const decoded = cborDecode(bytes);
  if (!decoded.ok) return malformed;
  const r = parseResult(decoded.value);
  if (r === null || !bytesEqual(cborEncode(resultToWire(r)), bytes)) return malformed;
  return r;
}

function resultToWire(r: KvResult): unknown[] {
  if ('error' in r) return ['err', r.error];
  if ('ok' in r) return ['cas', r.ok, r.value];
  return ['v', r.value];
}

function parseResult(w: unknown): KvResult | null {
  if (!Array.isArray(w)) return null;
  const isValueOrNull = (x: unknown): x is string | null => x === null || isValue(x);
  switch (w[0]) {
    case 'v': {
      const value: unknown = w[1];
      return w.length === 2 && isValueOrNull(value) ? { value } : null;
    }
    case 'cas': {
      const ok: unknown = w[1];
      const value: unknown = w[2];
      return w.length === 3 && typeof ok === 'boolean' && isValueOrNull(value) ? { ok, value } : null;
    }
    case 'err': {
      const reason: unknown = w[1];
      return w.length === 2 && isBoundedString(reason, MAX_ERROR_REASON_BYTES) ? { error: reason } : null;
    }
    default:
      return null;
  }
}

// ---------------------------------------------------------------------------------------------
// Traces

/**
 * One-line rendering for traces and logs: `get k1`, `put k1=v3`, `delete k1`, `cas k1 v1->v2`,
 * `cas k1 <absent>->v2`, or `invalid(bad-key)` for a refused command. Strings other than plain
 * [A-Za-z0-9_.:/]+ are JSON-quoted (so `<absent>`, `=` and `->` stay unambiguous) and long ones
 * are clipped with their byte length.
 */
export function describeKvCommand(c: KvCommand | { error: string }): string {
  if ('error' in c) return `invalid(${c.error})`;
  switch (c.op) {
    case 'get':
      return `get ${show(c.key)}`;
    case 'put':
      return `put ${show(c.key)}=${show(c.value)}`;
    case 'delete':
      return `delete ${show(c.key)}`;
    case 'cas':
      return `cas ${show(c.key)} ${show(c.expected)}->${show(c.value)}`;
  }
}

/** One-line rendering of a result: `v1`, `<absent>`, `ok (was v1)`, `fail (was <absent>)`, `error(bad-key)`. */
export function describeKvResult(r: KvResult): string {
  if ('error' in r) return `error(${r.error})`;
  if ('ok' in r) return `${r.ok ? 'ok' : 'fail'} (was ${show(r.value)})`;
  return show(r.value);
}

const PLAIN = /^[A-Za-z0-9_.:/]+$/;
const CLIP_AT = 40;

function show(s: string | null): string {
  if (s === null) return '<absent>';
  if (s.length <= CLIP_AT) return PLAIN.test(s) ? s : JSON.stringify(s);
  const head = s.slice(0, CLIP_AT - 8);
  return `${PLAIN.test(head) ? head : JSON.stringify(head)}…(${utf8Length(s) ?? '?'}B)`;
}
