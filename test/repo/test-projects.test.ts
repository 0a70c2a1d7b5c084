import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import config from '../../vitest.config.ts';

type Project = { test?: { name?: string; include?: string[]; globalSetup?: string | string[] } };

/**
 * `npm run test:unit` runs the tests that need no services and starts nothing; `npm test` runs the
 * unit and the integration project (the latter with the stack's globalSetup).
 */
describe('vitest projects', () => {
  const projects = ((config as { test?: { projects?: Project[] } }).test?.projects ?? []) as Project[];
  const byName = (n: string) => projects.find((p) => p.test?.name === n);

  it('has a unit project without globalSetup and an integration project with it', () => {
    expect(projects.map((p) => p.test?.name).sort()).toEqual(['integration', 'unit']);
    expect(byName('unit')!.test!.globalSetup ?? []).toEqual([]);
    expect((config as { test?: { globalSetup?: unknown } }).test?.globalSetup ?? []).toEqual([]);
    expect(byName('integration')!.test!.globalSetup).toEqual(['test/helpers/global-setup.ts']);
    expect(byName('unit')!.test!.include).toEqual(expect.arrayContaining(['processors/**/*.test.ts', 'src/**/*.test.ts']));
  });

  it('npm run test:unit runs only the unit project; npm test runs both', () => {
    const scripts = (JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8')) as { scripts: Record<string, string> }).scripts;
    expect(scripts['test:unit']).toMatch(/vitest run --project unit$/);
    expect(scripts.test).toMatch(/vitest run$/);
  });
});
