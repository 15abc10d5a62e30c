/** Stands in for Moddable's `text/encoder` module where TextEncoder is a global (xsnap, Node). */
const GlobalTextEncoder = globalThis.TextEncoder;
export default GlobalTextEncoder;
