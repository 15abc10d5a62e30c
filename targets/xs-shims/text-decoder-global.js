/** Stands in for Moddable's `text/decoder` module where TextDecoder is a global (xsnap, Node). */
export default globalThis.TextDecoder;
