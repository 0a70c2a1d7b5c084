import { luhnValid } from '../../processors/shared/pii.ts';

/**
 * Masks what looks like personal data in text that goes into an e-mail body or an alert (pure):
 * e-mail addresses (`j***@e***.com`), card numbers that pass the Luhn check (`**** **** **** 4242`)
 * and phone numbers (all but the last two digits). It looks for the same shapes as the unmasked_pii
 * detector (processors/shared/pii.ts), so whatever that detector would flag is masked here.
 */
const EMAIL = /[A-Za-z0-9._%+-]+@([A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*)\.([A-Za-z]{2,})/g;
const CARD = /(?<!\d)(?:\d{13,19}|\d{4}(?:[ -]\d{4}){2}[ -]\d{4,7}|\d{4}[ -]\d{6}[ -]\d{5})(?!\d)/g;
const PHONE_INTL = /\+\d(?:[\s().-]?\d){7,14}(?![\w])/g;
const PHONE_NANP = /(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\w])/g;

export function maskPii(text: string): string {
  if (text.length < 6) return text;
  let out = text;
  if (out.includes('@')) out = out.replace(EMAIL, (_m, domain: string, tld: string) => `${_m[0]}***@${domain[0]}***.${tld}`);
  out = out.replace(CARD, (m) => {
    const digits = m.replace(/[ -]/g, '');
    return luhnValid(digits) ? `**** **** **** ${digits.slice(-4)}` : m;
  });
  const phone = (m: string) => {
    let seen = 0;
    const total = m.replace(/\D/g, '').length;
    return m.replace(/\d/g, (d) => (++seen > total - 2 ? d : '*'));
  };
  out = out.replace(PHONE_INTL, phone).replace(PHONE_NANP, phone);
  return out;
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
