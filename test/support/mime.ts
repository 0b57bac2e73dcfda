/**
 * Just enough MIME to read what nodemailer sends: headers, and the text and HTML parts of a
 * single-part or multipart/alternative message, decoded (quoted-printable, base64, 7bit/8bit).
 */
export interface ParsedMail {
  /** Lower-cased header name -> unfolded value (the first occurrence). */
  headers: Map<string, string>;
  text: string;
  html: string;
}

export function parseMail(raw: string): ParsedMail {
  const { headers, body } = splitEntity(raw);
  const parts: Array<{ headers: Map<string, string>; body: string }> = [];
  collectParts(headers, body, parts);
  const decoded = (type: string) => {
    const part = parts.find((p) => (p.headers.get('content-type') ?? 'text/plain').toLowerCase().startsWith(type));
    return part ? decodeBody(part.headers.get('content-transfer-encoding') ?? '7bit', part.body) : '';
  };
  return { headers, text: decoded('text/plain'), html: decoded('text/html') };
}

function collectParts(headers: Map<string, string>, body: string, out: Array<{ headers: Map<string, string>; body: string }>): void {
  const type = headers.get('content-type') ?? 'text/plain';
  const boundary = /boundary="?([^";]+)"?/i.exec(type)?.[1];
  if (!type.toLowerCase().startsWith('multipart/') || !boundary) {
    out.push({ headers, body });
    return;
  }
  const sections = body.split(new RegExp(`\\r?\\n?--${escapeRegExp(boundary)}(?:--)?\\r?\\n?`));
  for (const section of sections.slice(1)) {
    if (!section.trim()) continue;
    const part = splitEntity(section);
    collectParts(part.headers, part.body, out);
  }
}

function splitEntity(raw: string): { headers: Map<string, string>; body: string } {
  const match = /\r?\n\r?\n/.exec(raw);
  const head = match ? raw.slice(0, match.index) : raw;
  const body = match ? raw.slice(match.index + match[0].length) : '';
  const headers = new Map<string, string>();
  for (const line of head.replace(/\r?\n[ \t]+/g, ' ').split(/\r?\n/)) {
    const colon = line.indexOf(':');
    if (colon <= 0) continue;
    const name = line.slice(0, colon).trim().toLowerCase();
    if (!headers.has(name)) headers.set(name, line.slice(colon + 1).trim());
  }
  return { headers, body };
}

function decodeBody(encoding: string, body: string): string {
  switch (encoding.trim().toLowerCase()) {
    case 'quoted-printable': {
      const soft = body.replace(/=\r?\n/g, '');
      const bytes: number[] = [];
      for (let i = 0; i < soft.length; i++) {
        const hex = soft[i] === '=' ? /^[0-9A-F]{2}/i.exec(soft.slice(i + 1, i + 3)) : null;
        if (hex) {
          bytes.push(parseInt(hex[0], 16));
          i += 2;
        } else {
          bytes.push(...Buffer.from(soft[i]!, 'utf8'));
        }
      }
      return Buffer.from(bytes).toString('utf8').replace(/\r\n/g, '\n');
    }
    case 'base64':
      return Buffer.from(body.replace(/\s+/g, ''), 'base64').toString('utf8').replace(/\r\n/g, '\n');
    default:
      return body.replace(/\r\n/g, '\n');
  }
}

function escapeRegExp(value: string): string {
  return value.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');
}
