/**
 * Helpers for untrusted JSON values that never recurse: JSON.parse happily builds a value nested 10,000
 * levels deep, but V8's JSON.stringify overflows the stack at roughly 4,000, so depth has to be bounded
 * before a value goes anywhere that will be serialized.
 */

/**
 * An empty object without a prototype, so any key (even `__proto__`) is plain data. Made by removing the
 * prototype of `{}` rather than by `Object.create(null)`, which V8 starts in dictionary mode: adding
 * properties and serializing such objects is several times slower.
 */
export function nullObject<T = Record<string, unknown>>(): T {
  return Object.setPrototypeOf({}, null) as T;
}

/** A JSON object (not null, not an array). */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** `object[key]` only when it is the object's own property, so inherited members never read as data. */
export function own(object: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(object, key) ? object[key] : undefined;
}

/**
 * Whether `value` has containers nested more than `limit` levels deep (a cyclic value counts as too deep).
 * Depth-first, stopping at the first path that crosses the limit; the recursion itself is bounded by
 * `limit`, so it cannot overflow the stack however deep the value is.
 */
export function nestsDeeperThan(value: unknown, limit: number): boolean {
  return typeof value === 'object' && value !== null && deeperThan(value, limit);
}

/**
 * Whether the JSON value written as `text` certainly nests at most `limit` levels deep: it has at most
 * `limit` opening brackets in all (a path cannot hold more containers than the text opens). False says
 * nothing: count the levels with {@link nestsDeeperThan}. A few native searches instead of a walk over
 * every container of the value.
 */
export function textNestsAtMost(text: string, limit: number): boolean {
  if (text.length <= 2 * limit) return true;
  let opened = 0;
  for (let at = text.indexOf('{'); at !== -1; at = text.indexOf('{', at + 1)) if (++opened > limit) return false;
  for (let at = text.indexOf('['); at !== -1; at = text.indexOf('[', at + 1)) if (++opened > limit) return false;
  return true;
}

/** Whether `container` (itself one level) has a path more than `budget` levels deep. */
function deeperThan(container: object, budget: number): boolean {
  if (budget <= 0) return true;
  if (Array.isArray(container)) {
    for (let i = 0; i < container.length; i++) {
      const child: unknown = container[i];
      if (typeof child === 'object' && child !== null && deeperThan(child, budget - 1)) return true;
    }
    return false;
  }
  // This runs over every record on the hot path: for-in reads values through V8's enum cache.
  for (const key in container) {
    const child = (container as Record<string, unknown>)[key];
    if (typeof child === 'object' && child !== null && deeperThan(child, budget - 1)) return true;
  }
  return false;
}

/**
 * `JSON.stringify(value)` for JSON data (objects, arrays, strings, numbers, booleans, null) of any depth,
 * without recursion. Throws a TypeError on a cycle or a bigint, as JSON.stringify does.
 */
export function stringifyWithoutRecursion(value: unknown): string {
  type Frame = { value: unknown; key: string } | { text: string; leaves?: object };
  const parts: string[] = [];
  const onPath = new Set<object>();
  const stack: Frame[] = [{ value, key: '' }];
  for (let frame = stack.pop(); frame; frame = stack.pop()) {
    if ('text' in frame) {
      parts.push(frame.text);
      if (frame.leaves) onPath.delete(frame.leaves);
      continue;
    }
    let current = frame.value;
    if (typeof current === 'object' && current !== null && typeof (current as { toJSON?: unknown }).toJSON === 'function') {
      current = (current as { toJSON: (key: string) => unknown }).toJSON(frame.key);
    }
    if (typeof current !== 'object' || current === null) {
      // Leaves cannot recurse; undefined, functions and symbols become null as they do inside arrays.
      parts.push(JSON.stringify(current) ?? 'null');
      continue;
    }
    if (onPath.has(current)) throw new TypeError('Converting circular structure to JSON');
    onPath.add(current);
    const children: Frame[] = [];
    if (Array.isArray(current)) {
      current.forEach((item: unknown, index) => {
        if (index > 0) children.push({ text: ',' });
        children.push({ value: item, key: String(index) });
      });
    } else {
      for (const [key, item] of Object.entries(current)) {
        if (item === undefined || typeof item === 'function' || typeof item === 'symbol') continue;
        children.push({ text: `${children.length > 0 ? ',' : ''}${JSON.stringify(key)}:` }, { value: item, key });
      }
    }
    const array = Array.isArray(current);
    parts.push(array ? '[' : '{');
    stack.push({ text: array ? ']' : '}', leaves: current });
    for (let i = children.length - 1; i >= 0; i--) stack.push(children[i]!);
  }
  return parts.join('');
}
