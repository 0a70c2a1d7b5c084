import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readMailbox } from '../../scripts/stack/mailbox.ts';

describe('readMailbox', () => {
  const dir = mkdtempSync(join(tmpdir(), 'vigil-mailbox-'));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));

  it('parses stored .eml files oldest first, ignoring tmp files', async () => {
    const eml = (subject: string): string =>
      [
        'X-Envelope-From: <vigil@localhost>',
        'X-Envelope-To: oncall@example.org, audit@example.org',
        'From: vigil <vigil@localhost>',
        'To: oncall@example.org',
        `Subject: ${subject}`,
        'Date: Mon, 23 Nov 2026 19:00:00 +0000',
        'Message-ID: <m1@vigil>',
        'X-Vigil-Finding: f-1',
        'Content-Type: text/plain; charset=utf-8',
        '',
        'A breaker opened.',
        '',
      ].join('\r\n');
    writeFileSync(join(dir, '2-000002-bb.eml'), eml('second'));
    writeFileSync(join(dir, '1-000001-aa.eml'), eml('first'));
    writeFileSync(join(dir, '.3-000003-cc.eml.tmp'), 'half a message');
    const mail = await readMailbox(dir);
    expect(mail.map((m) => m.subject)).toEqual(['first', 'second']);
    const m = mail[0]!;
    expect(m.from).toBe('vigil@localhost');
    expect(m.fromText).toBe('"vigil" <vigil@localhost>');
    expect(m.to).toEqual(['oncall@example.org']);
    expect(m.envelopeTo).toEqual(['oncall@example.org', 'audit@example.org']);
    expect(m.text.trim()).toBe('A breaker opened.');
    expect(m.html).toBeUndefined();
    expect(m.headers['x-vigil-finding']).toBe('f-1');
    expect(m.date?.toISOString()).toBe('2026-11-23T19:00:00.000Z');
    expect(m.messageId).toBe('<m1@vigil>');
  });

  it('says what is wrong with a missing or empty mail dir', async () => {
    await expect(readMailbox(join(dir, 'nope'))).rejects.toThrow(/cannot read mail dir .*nope \(is the stack's SMTP sink running\?\)/);
    await expect(readMailbox('')).rejects.toThrow(/VIGIL_MAIL_DIR is not set/);
  });
});
