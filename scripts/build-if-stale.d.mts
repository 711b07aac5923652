export function isStale(): boolean;
export function pruneOrphans(): string[];
export function buildIfStale(): { status: number; output: string };
