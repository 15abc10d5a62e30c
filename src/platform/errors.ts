/**
 * The typed errors' base and describeError, for src/: they live in hal/types/tbxs-error.ts, the
 * lowest layer, so that hal/ reports its HalError on the same base without importing src/.
 */
export { describeError, TbxsError } from '../../hal/types/tbxs-error';
