/** Small helpers over node:util parseArgs that turn bad input into one clear line and exit code 2. */
export class UsageError extends Error {}

export function intOption(value: string | undefined, name: string, fallback: number, min = 0): number {
  if (value === undefined) return fallback;
  const n = Number(value);
  if (!Number.isSafeInteger(n) || n < min) throw new UsageError(`--${name} must be an integer ≥ ${min} (got '${value}')`);
  return n;
}
