import { describe, expect, it } from 'vitest';
import { uuidV5 } from '../../../shared/core/uuid.js';

const DNS_NAMESPACE = '6ba7b810-9dad-11d1-80b4-00c04fd430c8';

describe('uuidV5', () => {
  it('reproduces the RFC 9562 (appendix A.4) test vector', () => {
    expect(uuidV5('www.example.com', DNS_NAMESPACE)).toBe('2ed6657d-e927-568b-95e1-2665a8aea6a2');
  });

  it('sets version 5 and the RFC variant, and is deterministic', () => {
    const first = uuidV5('O365ManagementActivity|tenant|id', '38bfef10-aa5d-474c-b3fe-189a3383b14f');
    expect(first).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect(uuidV5('O365ManagementActivity|tenant|id', '38bfef10-aa5d-474c-b3fe-189a3383b14f')).toBe(first);
    expect(uuidV5('O365ManagementActivity|tenant|id2', '38bfef10-aa5d-474c-b3fe-189a3383b14f')).not.toBe(first);
  });

  it('hashes the name as UTF-8 and accepts an upper-case namespace', () => {
    expect(uuidV5('café', DNS_NAMESPACE.toUpperCase())).toBe(uuidV5('café', DNS_NAMESPACE));
    expect(uuidV5('café', DNS_NAMESPACE)).not.toBe(uuidV5('cafe', DNS_NAMESPACE));
  });

  it('rejects a namespace that is not a UUID', () => {
    expect(() => uuidV5('x', 'not-a-uuid')).toThrow(TypeError);
  });
});
