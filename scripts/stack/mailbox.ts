import { readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { simpleParser, type AddressObject } from 'mailparser';

/** One message the SMTP sink stored, parsed. */
export interface MailMessage {
  /** The .eml file's path. */
  readonly file: string;
  readonly subject: string;
  /** The From address, e.g. `vigil@localhost`. */
  readonly from: string;
  /** The From header as mailparser renders it, e.g. `"vigil" <vigil@localhost>`. */
  readonly fromText: string;
  /** Every To address. */
  readonly to: readonly string[];
  /** The envelope recipients (RCPT TO), which include Cc and Bcc. */
  readonly envelopeTo: readonly string[];
  readonly text: string;
  /** The HTML body, or undefined for a text-only message. */
  readonly html: string | undefined;
  /** Every header, lower-case name to value as text (the last one wins for repeated names). */
  readonly headers: Readonly<Record<string, string>>;
  readonly date: Date | undefined;
  readonly messageId: string | undefined;
}

/**
 * Reads every message in the sink's mail dir, oldest first (file names start with the arrival time).
 * Throws if `mailDir` is empty (SMTP_URL points elsewhere and VIGIL_MAIL_DIR is unset) or missing.
 */
export async function readMailbox(mailDir: string): Promise<MailMessage[]> {
  if (mailDir === '') throw new Error('readMailbox: no mail dir: SMTP_URL points at another server and VIGIL_MAIL_DIR is not set');
  let files: string[];
  try {
    files = readdirSync(mailDir).filter((f) => f.endsWith('.eml')).sort();
  } catch (e) {
    throw new Error(`readMailbox: cannot read mail dir ${mailDir} (is the stack's SMTP sink running?): ${(e as Error).message}`);
  }
  const messages: MailMessage[] = [];
  for (const f of files) {
    const file = join(mailDir, f);
    const cached = parsedFiles.get(file);
    if (cached !== undefined) {
      messages.push(cached);
      continue;
    }
    const parsed = await simpleParser(readFileSync(file));
    const headers: Record<string, string> = {};
    for (const line of parsed.headerLines) {
      const i = line.line.indexOf(':');
      headers[line.key] = (i >= 0 ? line.line.slice(i + 1) : '').replace(/\r?\n[ \t]+/g, ' ').trim();
    }
    const message: MailMessage = {
      file,
      subject: parsed.subject ?? '',
      from: addresses(parsed.from)[0] ?? '',
      fromText: parsed.from?.text ?? '',
      to: addresses(parsed.to),
      envelopeTo: (headers['x-envelope-to'] ?? '').split(',').map((s) => s.trim()).filter(Boolean),
      text: parsed.text ?? '',
      html: parsed.html === false ? undefined : parsed.html,
      headers,
      date: parsed.date,
      messageId: parsed.messageId,
    };
    parsedFiles.set(file, message);
    messages.push(message);
  }
  return messages;
}

/**
 * The sink never changes a stored file (it renames complete ones into place), so each is parsed once:
 * tests poll readMailbox() while the shared sink's dir keeps growing.
 */
const parsedFiles = new Map<string, MailMessage>();

function addresses(field: AddressObject | AddressObject[] | undefined): string[] {
  if (field === undefined) return [];
  const list = Array.isArray(field) ? field : [field];
  return list.flatMap((a) => a.value.map((v) => v.address ?? '')).filter(Boolean);
}
