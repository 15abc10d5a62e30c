import { TbxsError } from '../platform/errors';

export type TbErrorCode =
  | 'timeout' // no response within the request's timeout
  | 'bad-response' // the server's answer is not JSON or has the wrong shape
  | 'rpc-error' // a client-side RPC answered {"error": ...}
  | 'invalid-argument' // bad input from the caller
  | 'too-many-pending' // the cap on pending requests is reached
  | 'provision-not-found' // provisioning key/secret unknown (NOT_FOUND)
  | 'provision-failed' // provisioning refused (FAILURE), e.g. the device already exists
  | 'bad-config' // missing or contradictory configuration
  | 'closed'; // the client was closed before the request completed

export class TbError extends TbxsError<TbErrorCode> {
  constructor(code: TbErrorCode, message: string, cause?: unknown) {
    super(code, message, 'TbError', { cause });
  }
}
