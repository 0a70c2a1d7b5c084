import { replacePii } from '../../processors/shared/pii.ts';

/**
 * Masks personal data in text that goes into an e-mail body or an alert (pure), so that a person can
 * still tell one value from another: e-mail addresses (`j***@e***.com`), card numbers that pass the
 * Luhn check (`**** **** **** 4242`) and phone numbers (all but the last two digits). The shapes are the
 * unmasked_pii detector's (processors/shared/pii.ts replacePii), so whatever it flags is masked here.
 */
export function maskPii(text: string): string {
  return replacePii(text, (kind, m) => {
    if (kind === 'email') {
      const [, domain = '', tld = ''] = /@([^@]*)\.([A-Za-z]{2,})$/.exec(m) ?? [];
      return `${m[0]}***@${domain[0] ?? ''}***.${tld}`;
    }
    if (kind === 'card') return `**** **** **** ${m.replace(/[ -]/g, '').slice(-4)}`;
    const total = m.replace(/\D/g, '').length;
    let seen = 0;
    return m.replace(/\d/g, (d) => (++seen > total - 2 ? d : '*'));
  });
}

/** Text safe for one line of a body: control characters (CR, LF, tabs…) become spaces; PII is masked. */
export function cleanText(v: unknown, max = 500): string {
  const s = String(v ?? '');
  // eslint-disable-next-line no-control-regex
  const one = s.replace(/[\u0000-\u001f\u007f\u2028\u2029]+/g, ' ');
  const masked = maskPii(one);
  return masked.length > max ? masked.slice(0, max - 1) + '…' : masked;
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;').replace(/'/g, '&#39;');
}
