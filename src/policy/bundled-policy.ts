import { fileURLToPath } from 'node:url';

/**
 * The policy file that ships with vigil (vigil.policy.yaml at the repo's root), by its absolute path:
 * what `vigil run`, replay and the demo fall back to when the working directory has none, and what the
 * benchmarks read wherever they are started from.
 */
export const BUNDLED_POLICY_PATH = fileURLToPath(new URL('../../vigil.policy.yaml', import.meta.url));
