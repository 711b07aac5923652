export function rewriteDeclarations(dir?: string): number;
