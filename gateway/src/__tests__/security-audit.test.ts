import { MAX_RECORDED_DEPTH, redact, TOO_DEEP } from '../audit';

describe('audit redaction', () => {
  it('walks 100,000 levels without recursion, keeping the first levels and a marker', () => {
    let deep: unknown = 'bottom';
    for (let i = 0; i < 100_000; i++) deep = [{ down: deep }];
    let level: unknown = redact({ deep });
    let depth = 0;
    while (typeof level === 'object' && level !== null) {
      level = Array.isArray(level)
        ? level[0]
        : ((level as { deep?: unknown; down?: unknown }).down ?? (level as { deep: unknown }).deep);
      depth++;
    }
    expect(level).toBe(TOO_DEEP);
    expect(depth).toBe(MAX_RECORDED_DEPTH);
  });

  it('masks secrets at any level, shortens long strings, keeps __proto__ as data', () => {
    const value = JSON.parse(
      '{"input": {"password": "p", "nested": [{"apiToken": "t", "ok": 1}], "__proto__": {"x": 1}}, "yaml": "' +
        'y'.repeat(600) +
        '"}',
    ) as Record<string, unknown>;
    const out = redact(value) as { input: Record<string, unknown>; yaml: string };
    expect(out.input.password).toBe('[redacted]');
    expect(out.input.nested).toEqual([{ apiToken: '[redacted]', ok: 1 }]);
    expect(Object.getPrototypeOf(out.input)).toBe(Object.prototype);
    expect(Object.getOwnPropertyDescriptor(out.input, '__proto__')?.value).toEqual({ x: 1 });
    expect(out.yaml).toMatch(/^y{500}\.\.\. \(600 chars\)$/);
  });
});
