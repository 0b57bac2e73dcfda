import { STATUS_CODES } from 'node:http';
import type { Duplex } from 'node:stream';
import { scimErrorBody } from '../scim/errors.ts';
import { problemBody } from './errors.ts';

/**
 * Requests Node's HTTP parser refuses before express sees them: a request line or headers over
 * the server's limit (16 KiB), or bytes that are not HTTP. Node would answer a bare 431 or 400;
 * this answers in the protocol of the path asked for (a SCIM error under /scim, else
 * problem+json), then closes the connection, whose parser state is lost.
 */
export function answerClientError(error: NodeJS.ErrnoException & { rawPacket?: Buffer }, socket: Duplex): void {
  if (error.code === 'ECONNRESET' || !socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = error.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? 431 : 400;
  const detail = tooLarge
    ? 'The request line and headers are larger than the server accepts (16 KiB). Shorten the URL; a long SCIM filter can be sent with POST .search.'
    : 'The request is not valid HTTP.';
  // The packet the parser failed on starts with the request line when the request is that large.
  const start = error.rawPacket?.subarray(0, 64).toString('latin1') ?? '';
  const scim = /^[A-Z]+ \/scim\//.test(start);
  const body = JSON.stringify(scim ? scimErrorBody({ status, detail }) : problemBody(status, tooLarge ? 'request_too_large' : 'bad_request', detail));
  const type = scim ? 'application/scim+json; charset=utf-8' : 'application/problem+json; charset=utf-8';
  socket.end(`HTTP/1.1 ${status} ${STATUS_CODES[status]}\r\nContent-Type: ${type}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`);
}
