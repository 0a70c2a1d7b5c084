import { describe, expect, it } from 'vitest';
import { luhnValid, piiKindOf } from './pii.ts';

describe('piiKindOf', () => {
  it.each([
    ['jane.doe@example.com', 'email'],
    ['u-jane+tag@mail.example.co.uk', 'email'],
    ['+14155550123', 'phone'],
    ['+44 20 7946 0958', 'phone'],
    ['s-+33-6-12-34-56-78', 'phone'],
    ['(415) 555-0123', 'phone'],
    ['415-555-0123', 'phone'],
    ['call 415.555.0123', 'phone'],
    ['4111111111111111', 'card'],
    ['idk-4111111111111111', 'card'],
    ['4111 1111 1111 1111', 'card'],
    ['4111-1111-1111-1111', 'card'],
    ['378282246310005', 'card'],
    ['3782 822463 10005', 'card'],
    ['6011000990139424', 'card'],
    ['4222222222222', 'card'],
  ])('finds %s as %s', (s, kind) => expect(piiKindOf(s)).toBe(kind));

  it.each([
    'u_0108',
    'i-d016a515-b437-4c74-a8c6-cf84f37b643b',
    'idk-b83586b8-eda8-48e4-a36f-68cdbf01acd7',
    '12345678-1234-5678-9012-345678901234',
    '4111111111111112',
    'r-2026-11-20-1234567',
    'order 1234567',
    'a@b',
    's-6e3d79bc-49c7-420a-af84-bd7b4b9c2b14',
    '',
  ])('does not take %j for personal data', (s) => expect(piiKindOf(s)).toBeUndefined());

  it('checks Luhn', () => {
    expect(luhnValid('79927398713')).toBe(true);
    expect(luhnValid('79927398710')).toBe(false);
  });
});
