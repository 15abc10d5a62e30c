/**
 * Holds publishes back to a rate the server accepts. The session asks it just before a queued
 * publish goes on the wire; a publish it delays stays at the head of the offline queue (bounded by
 * the queue's caps), so nothing is dropped and order is kept.
 */
export interface PublishPacer {
  /**
   * Milliseconds until the publish may go: 0 sends it now (and the pacer counts it), more keeps it
   * queued for that long, Infinity means it can never fit the limits (it fails with 'over-limit').
   * `pace` is the publish's PublishOptions.pace, opaque to the session.
   */
  delayMs(pace: number, now: number): number;
  /**
   * Called on each CONNACK 0, before anything is sent on the new connection: the pacer may hold
   * publishes until it has learned the server's limits.
   */
  connected(now: number): void;
}
