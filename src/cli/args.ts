/** Moved to options.ts; kept while the commands move over. */
export { intOption, UsageError } from './options.ts';
