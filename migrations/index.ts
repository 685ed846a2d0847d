/** Every migration, in order. Listed explicitly so the build, the CLI and jest load the same set. */
import { KernelFoundation1732300000000 } from './1732300000000-kernel-foundation';
import { Policies1732400000000 } from './1732400000000-policies';
import { TokenLifecycle1732500000000 } from './1732500000000-token-lifecycle';

export const MIGRATIONS = [KernelFoundation1732300000000, Policies1732400000000, TokenLifecycle1732500000000];
