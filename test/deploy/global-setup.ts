/**
 * Once per `npm run test:deploy`: builds the image (podman build of the Dockerfile) that
 * the image and compose tests run, and hands its build time and size to them. Skipped
 * with SKIP_CONTAINERS=1.
 */
import type { TestProject } from 'vitest/node';
import { buildImage } from './podman.js';

declare module 'vitest' {
  export interface ProvidedContext {
    image: { seconds: number; bytes: number } | null;
  }
}

export default async function setup(project: TestProject): Promise<void> {
  project.provide('image', process.env.SKIP_CONTAINERS === '1' ? null : await buildImage());
}
