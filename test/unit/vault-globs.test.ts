import { describe, expect, it } from 'vitest';

import { asList, boundListAdmits, globMatch } from '../../src/vault/globs.js';

describe('globMatch', () => {
  it.each([
    ['eso', 'eso', true],
    ['eso', 'eso2', false],
    ['eso-*', 'eso-reader', true],
    ['*-reader', 'eso-reader', true],
    ['*so-re*', 'eso-reader', true],
    ['e*r', 'eso-reader', false],
    ['e*r', 'e*r', true],
    ['*', '*', true],
    ['ESO', 'eso', false],
  ])('pattern %j against %j is %s', (pattern, value, expected) => {
    expect(globMatch(pattern, value)).toBe(expected);
  });
});

describe('boundListAdmits', () => {
  it('admits anything with a lone star', () => {
    expect(boundListAdmits(['*'], 'anything')).toBe('*');
  });

  it('returns the matching entry', () => {
    expect(boundListAdmits(['argocd', 'external-*'], 'external-secrets-system')).toBe('external-*');
  });

  it('returns undefined without a match', () => {
    expect(boundListAdmits(['argocd'], 'external-secrets-system')).toBeUndefined();
  });
});

describe('asList', () => {
  it('splits a comma list', () => {
    expect(asList('a, b,c')).toEqual(['a', 'b', 'c']);
  });

  it('keeps an array', () => {
    expect(asList(['a', 'b'])).toEqual(['a', 'b']);
  });
});
