/** Stands in for Moddable's `text/encoder` module where TextEncoder is a global (xsnap, Node). */
export default globalThis.TextEncoder;
