/** The kinds of personal data vigil looks for in identifier fields. */
export type PiiKind = 'email' | 'phone' | 'card';

const EMAIL = /[A-Za-z0-9._%+-]+@[A-Za-z0-9-]+(?:\.[A-Za-z0-9-]+)*\.[A-Za-z]{2,}/;
/** International form: a + then 8–15 digits, with optional spaces, dots, dashes or parentheses. */
const PHONE_INTL = /(?:^|[^\w+])\+\d(?:[\s().-]?\d){7,14}(?![\w])/;
/** North-American style with separators: (415) 555-0123, 415-555-0123, 415.555.0123, 415 555 0123. */
const PHONE_NANP = /(?:^|[^\w])(?:\(\d{3}\)\s?|\d{3}[\s.-])\d{3}[\s.-]\d{4}(?![\w])/;
/** Card-like digit runs: 13–19 plain digits, or groups of 4 (4-4-4-4…7) or 4-6-5, spaces or dashes. */
const CARD = /(?<!\d)(?:\d{13,19}|\d{4}(?:[ -]\d{4}){2}[ -]\d{4,7}|\d{4}[ -]\d{6}[ -]\d{5})(?!\d)/g;

/**
 * What kind of personal data `s` holds, if any: an e-mail address, a phone number or a card number
 * (Luhn-valid, 13–19 digits). One cheap pass comes first: it notes an `@` or a `+` and the longest run
 * of digits (spaces, dots, dashes and parentheses between them allowed), and only a string that could
 * hold personal data goes through the regular expressions. Ordinary ids cost that one pass.
 */
export function piiKindOf(s: string): PiiKind | undefined {
  if (s.length < 6) return undefined;
  let at = false;
  let plus = false;
  let run = 0;
  let maxRun = 0;
  for (let i = 0; i < s.length; i++) {
    const c = s.charCodeAt(i);
    if (c > 57) {
      if (c === 64) at = true;
      run = 0;
    } else if (c >= 48) {
      if (++run > maxRun) maxRun = run;
    } else if (c === 43) {
      plus = true;
    } else if (c !== 32 && c !== 45 && c !== 46 && c !== 40 && c !== 41) {
      run = 0;
    }
  }
  if (at && EMAIL.test(s)) return 'email';
  if (maxRun >= 13 && hasCardNumber(s)) return 'card';
  // An international number has at least 8 digits after its +; a North-American one has 10.
  if ((plus && maxRun >= 8 && PHONE_INTL.test(s)) || (maxRun >= 10 && PHONE_NANP.test(s))) return 'phone';
  return undefined;
}

function hasCardNumber(s: string): boolean {
  CARD.lastIndex = 0;
  for (let m = CARD.exec(s); m !== null; m = CARD.exec(s)) {
    if (luhnValid(m[0].replace(/[ -]/g, ''))) return true;
  }
  return false;
}

/** The Luhn check of a digit string. */
export function luhnValid(digits: string): boolean {
  let sum = 0;
  let double = false;
  for (let i = digits.length - 1; i >= 0; i--) {
    let d = digits.charCodeAt(i) - 48;
    if (double) {
      d *= 2;
      if (d > 9) d -= 9;
    }
    sum += d;
    double = !double;
  }
  return digits.length > 0 && sum % 10 === 0;
}

/** A human name for a PII kind: "an e-mail address", "a phone number", "a card number". */
export function describePii(kind: PiiKind): string {
  return kind === 'email' ? 'an e-mail address' : kind === 'phone' ? 'a phone number' : 'a card number';
}

const EMAIL_ALL = new RegExp(EMAIL.source, 'g');
const PHONE_INTL_ALL = new RegExp(PHONE_INTL.source, 'g');
const PHONE_NANP_ALL = new RegExp(PHONE_NANP.source, 'g');

/**
 * `s` with each piece of personal data piiKindOf would find replaced by `replace(kind, match)`; the one
 * place that knows the shapes, so every masker masks the same things. A string without any costs
 * piiKindOf's one cheap pass.
 */
export function replacePii(s: string, replace: (kind: PiiKind, match: string) => string): string {
  if (piiKindOf(s) === undefined) return s;
  let out = s.replace(EMAIL_ALL, (m) => replace('email', m));
  out = out.replace(CARD, (m) => (luhnValid(m.replace(/[ -]/g, '')) ? replace('card', m) : m));
  // the phone patterns take the character before the number too (a boundary): keep it
  const phone = (from: RegExp) => (m: string) => m.replace(from, (p) => replace('phone', p));
  return out.replace(PHONE_INTL_ALL, phone(/\+.*$/s)).replace(PHONE_NANP_ALL, phone(/[(\d].*$/s));
}

/** `s` with its personal data replaced by `[email]`, `[phone]` or `[card]` (for logs and messages that must not carry it). */
export function maskPii(s: string): string {
  return replacePii(s, (kind) => `[${kind}]`);
}
