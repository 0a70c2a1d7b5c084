import { createTransport } from 'nodemailer';
import { VigilError } from '../errors/vigil-error.ts';

/** One e-mail, every header value from configuration, enums or ids vigil made. */
export interface OutgoingEmail {
  from: string;
  to: readonly string[];
  subject: string;
  text: string;
  html: string;
  messageId: string;
  /** The Message-ID this one follows up (a reminder or resolution of the first e-mail). */
  inReplyTo?: string;
  headers: Record<string, string>;
}

/** SMTP did not take the message: retried from the outbox with backoff. */
export class SmtpError extends VigilError {
  constructor(message: string, cause?: unknown) {
    super(message, { retriable: true, cause });
  }
}

export interface Mailer {
  send(m: OutgoingEmail): Promise<void>;
  /** Connects, greets and logs in without sending (the dependency probe); throws an SmtpError when SMTP does not answer. */
  verify?(): Promise<void>;
  close(): void;
}

/**
 * nodemailer over SMTP (smtp:// or smtps://, user and password in the URL when needed), with a timeout
 * on connecting, the greeting and the socket, so a hung server fails a send instead of holding it.
 * The envelope is set explicitly: the recipients are exactly the configured ones.
 */
export function createMailer(url: string, timeoutMs: number): Mailer {
  const u = new URL(url);
  const transport = createTransport({
    host: u.hostname,
    port: Number(u.port || (u.protocol === 'smtps:' ? 465 : 25)),
    secure: u.protocol === 'smtps:',
    ...(u.username ? { auth: { user: decodeURIComponent(u.username), pass: decodeURIComponent(u.password) } } : {}),
    connectionTimeout: timeoutMs,
    greetingTimeout: timeoutMs,
    socketTimeout: timeoutMs,
    disableFileAccess: true,
    disableUrlAccess: true,
  });
  return {
    async send(m) {
      try {
        await transport.sendMail({
          from: m.from,
          to: [...m.to],
          envelope: { from: m.from, to: [...m.to] },
          subject: m.subject,
          text: m.text,
          html: m.html,
          messageId: m.messageId,
          ...(m.inReplyTo ? { inReplyTo: m.inReplyTo, references: [m.inReplyTo] } : {}),
          headers: m.headers,
        });
      } catch (e) {
        throw new SmtpError(`SMTP send failed: ${(e as Error).message}`, e);
      }
    },
    async verify() {
      try {
        await transport.verify();
      } catch (e) {
        throw new SmtpError(`SMTP does not answer: ${(e as Error).message}`, e);
      }
    },
    close() {
      transport.close();
    },
  };
}
