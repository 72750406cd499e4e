/**
 * A PostgreSQL CancelRequest: a separate connection that sends the session's process id and
 * secret key and closes. The server then stops that session's statement in flight (a
 * SUBSCRIBE ends with 57014 query_canceled), as psql's Ctrl-C does.
 */
import { connect } from 'node:net';

/** The CancelRequest code: 1234 in the high 16 bits, 5678 in the low ones. */
const CANCEL_REQUEST_CODE = 80877102;

/** Sends a CancelRequest for the session (processID, secretKey) of a server; never throws. */
export function sendCancelRequest(host: string, port: number, processID: number, secretKey: number, timeoutMs = 5000): Promise<void> {
  return new Promise<void>((resolve) => {
    const message = Buffer.alloc(16);
    message.writeInt32BE(16, 0);
    message.writeInt32BE(CANCEL_REQUEST_CODE, 4);
    message.writeInt32BE(processID, 8);
    message.writeInt32BE(secretKey, 12);
    const socket = connect(port, host, () => socket.end(message));
    // Cancellation is best effort, as in libpq: a failure to deliver it is not an error.
    socket.setTimeout(timeoutMs, () => socket.destroy());
    socket.on('error', () => resolve());
    socket.on('close', () => resolve());
  });
}
