import { readMailbox, type MailMessage } from '../../scripts/stack/mailbox.ts';
import { startOwnSmtpSink, type OwnSmtpSink } from '../helpers/smtp-sink.ts';

/** The chaos suite's own SMTP sink (scripts/stack/smtp-sink.ts on a free port), stopped and started by the suite. */
export interface OwnSmtp extends OwnSmtpSink {
  /** Every message it stored so far. */
  mails(): Promise<MailMessage[]>;
}

export async function startOwnSmtp(): Promise<OwnSmtp> {
  const sink = await startOwnSmtpSink();
  return { ...sink, mails: () => readMailbox(sink.mailDir) };
}
