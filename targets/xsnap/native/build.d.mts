/** Path of tbxs's XS host binary (stack-host.c linked with @agoric/xsnap's objects). */
export const STACK_HOST_PATH: string;
/** Builds the XS host when missing or older than its inputs; `check` only reports. Throws with the reason when it cannot. */
export function buildStackHost(options?: { check?: boolean }): { path: string; current: boolean };
