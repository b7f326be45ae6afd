import { describe, expect, it } from 'vitest';

import { lookupProperty } from '../../src/eso/property.js';

const secret = {
  accessKey: 'AKIA',
  'a.b': 'dotted',
  nested: { inner: { value: 42 }, 'x.y': true },
  list: [{ name: 'first' }, { name: 'second' }],
  empty: null,
};

describe('lookupProperty', () => {
  it('finds a top-level key', () => {
    expect(lookupProperty(secret, 'accessKey')).toEqual({ found: true, via: 'top-level', valueType: 'string', length: 4 });
  });

  it('prefers an exact key with a dot', () => {
    expect(lookupProperty(secret, 'a.b')).toMatchObject({ found: true, via: 'top-level' });
  });

  it('descends nested objects', () => {
    expect(lookupProperty(secret, 'nested.inner.value')).toEqual({ found: true, via: 'path', valueType: 'number', length: 2 });
  });

  it('honours escaped dots', () => {
    expect(lookupProperty(secret, 'nested.x\\.y')).toMatchObject({ found: true, valueType: 'boolean' });
  });

  it('indexes arrays and counts them', () => {
    expect(lookupProperty(secret, 'list.1.name')).toMatchObject({ found: true, length: 6 });
    expect(lookupProperty(secret, 'list.#')).toMatchObject({ found: true, valueType: 'number' });
  });

  it('matches wildcards in keys', () => {
    expect(lookupProperty(secret, 'nest*.inner.value')).toMatchObject({ found: true });
  });

  it('reports a missing property', () => {
    expect(lookupProperty(secret, 'secretKey')).toEqual({ found: false });
  });

  it('flags gjson queries as unsupported', () => {
    expect(lookupProperty(secret, 'list.#(name=="first").name')).toEqual({ found: false, unsupported: true });
  });

  it('measures null as empty', () => {
    expect(lookupProperty(secret, 'empty')).toMatchObject({ found: true, valueType: 'null', length: 0 });
  });
});
