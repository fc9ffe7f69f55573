import type { BuildResult } from 'esbuild';
export const ROOT: string;
export const BROWSER_BUNDLE: string;
export const SOCKET_IO_URL: string;
export function buildBrowserClient(opts?: { outfile?: string; write?: boolean }): Promise<BuildResult & { metafile: NonNullable<BuildResult['metafile']> }>;
