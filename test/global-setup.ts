/** Once per `vitest run`: the browser bundle of the SDK, which the server serves at /sdk/ (as after `npm run build`). */
import { buildBrowserClient } from '../scripts/build-client.mjs';

export default async function setup(): Promise<void> {
  await buildBrowserClient();
}
