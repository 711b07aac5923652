export function isStale(): boolean;
export function buildIfStale(): { status: number; output: string };
