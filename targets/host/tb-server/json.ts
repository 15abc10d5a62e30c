/** JSON value types of the local server (their own file: registry and types both build on them). */

export type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
export type JsonObject = { [key: string]: Json };
