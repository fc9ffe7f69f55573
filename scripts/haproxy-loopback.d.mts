export const DEPLOY_CFG: string;
export function loopbackHaproxyConfig(deployed: string, opts: { lbPort: number; backends: Array<{ host: string; port: number }> }): string;
