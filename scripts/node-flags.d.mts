export function serverNodeFlags(command: string): string[] | null;
