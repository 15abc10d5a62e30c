/** Stands in for Moddable's `text/decoder` module where TextDecoder is a global (xsnap, Node). */
const GlobalTextDecoder = globalThis.TextDecoder;
export default GlobalTextDecoder;
