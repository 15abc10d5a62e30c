import { describeError, TbxsError } from '../platform/errors';

export type TbErrorCode =
  | 'timeout' // no response within the request's timeout
  | 'bad-response' // the server's answer is not JSON or has the wrong shape
  | 'rpc-error' // a client-side RPC answered {"error": ...}
  | 'invalid-argument' // bad input from the caller
  | 'too-many-pending' // the cap on pending requests is reached
  | 'not-sent' // the MQTT session refused the request's publish (offline queue full, closed, too large)
  | 'provision-not-found' // provisioning key/secret unknown (NOT_FOUND)
  | 'provision-failed' // provisioning refused (FAILURE), e.g. the device already exists
  | 'bad-config' // missing or contradictory configuration
  | 'payload-too-large' // over the server's maxPayloadSize (getSessionLimits): refused before sending
  | 'closed'; // the client was closed before the request completed

export class TbError extends TbxsError<TbErrorCode> {
  constructor(code: TbErrorCode, message: string, cause?: unknown) {
    super(code, message, 'TbError', { cause });
  }
}

/** Bad input from the caller (TbError 'invalid-argument'). */
export function invalidArgument(message: string, cause?: unknown): TbError {
  return new TbError('invalid-argument', message, cause);
}

/** A request whose publish the session refused: fails at once, with the session's reason as cause. */
export function notSent(error: unknown): TbError {
  if (error instanceof TbError) return error;
  return new TbError('not-sent', 'request not sent: ' + describeError(error), error);
}
