// A restricted unpickler: Python's pickle machine for data only. Lists, tuples (as arrays), dicts (as Maps), sets,
// strings, bytes, numbers, booleans and None are built here; every global the pickle names goes through
// `hooks.global`, which returns what the caller allows or throws, and persistent ids through `hooks.persistentLoad`.
// Nothing a pickle says is ever run as code (the rule of PyTorch's torch.load(weights_only=True)).

/** What `unpickle` may reach beyond plain data. */
export interface PickleHooks {
  /** The value that global `module.name` stands for (a function when the pickle calls it); throws when not allowed. */
  global(module: string, name: string): unknown;
  /** The object a persistent id stands for (PyTorch: a tensor storage). */
  persistentLoad(pid: unknown): unknown;
}

/** A MARK on the stack. */
const MARK = Symbol('mark');

/** Reads the pickle in `bytes`; every error names `source` and the byte it stopped at. */
export function unpickle(bytes: Uint8Array, hooks: PickleHooks, source: string): unknown {
  const dv = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  const text = new TextDecoder('utf-8', { fatal: true });
  const stack: unknown[] = [];
  const memo = new Map<number, unknown>();
  let at = 0;
  let op = 0;
  let opAt = 0;
  const fail = (why: string): never => {
    throw new Error(`${source}: pickle opcode 0x${op.toString(16)} at byte ${opAt}: ${why}`);
  };
  const need = (n: number): number => {
    if (n < 0 || at + n > bytes.length) fail(`needs ${n} more bytes, the data ends at ${bytes.length}`);
    const start = at;
    at += n;
    return start;
  };
  const u8 = () => bytes[need(1)];
  const u32 = () => dv.getUint32(need(4), true);
  const u64 = () => {
    const n = dv.getBigUint64(need(8), true);
    if (n > BigInt(bytes.length)) fail(`a length of ${n} bytes runs past the data`);
    return Number(n);
  };
  const str = (n: number) => {
    const start = need(n);
    try {
      return text.decode(bytes.subarray(start, start + n));
    } catch {
      return fail('a string is not valid UTF-8');
    }
  };
  const line = () => {
    const end = bytes.indexOf(0x0a, at);
    if (end < 0) fail('a line has no end');
    return str(end - at + 1).slice(0, -1);
  };
  const pop = (): unknown => {
    if (stack.length === 0) fail('the stack is empty');
    const v = stack.pop();
    if (v === MARK) fail('a MARK where a value was expected');
    return v;
  };
  const top = (): unknown => {
    if (stack.length === 0 || stack[stack.length - 1] === MARK) fail('no value to work on');
    return stack[stack.length - 1];
  };
  /** The values above the last MARK, and the MARK itself, off the stack. */
  const popMark = (): unknown[] => {
    const m = stack.lastIndexOf(MARK);
    if (m < 0) fail('no MARK to pop to');
    const items = stack.splice(m);
    return items.slice(1);
  };
  const get = (i: number) => (memo.has(i) ? memo.get(i) : fail(`memo entry ${i} was never stored`));
  const setItems = (dict: unknown, items: unknown[]) => {
    if (!(dict instanceof Map)) fail('items set on something that is not a dict');
    if (items.length % 2) fail('a dict item has a key but no value');
    for (let i = 0; i < items.length; i += 2) (dict as Map<unknown, unknown>).set(items[i], items[i + 1]);
  };
  const append = (list: unknown, items: unknown[]) => {
    if (!Array.isArray(list)) fail('items appended to something that is not a list');
    (list as unknown[]).push(...items);
  };
  const addItems = (set: unknown, items: unknown[]) => {
    if (!(set instanceof Set)) fail('items added to something that is not a set');
    for (const v of items) (set as Set<unknown>).add(v);
  };
  const call = (f: unknown, args: unknown) => {
    if (typeof f !== 'function') fail(`calls ${String(f)}, which is not callable`);
    if (!Array.isArray(args)) fail('the arguments of a call are not a tuple');
    return (f as (...a: unknown[]) => unknown)(...(args as unknown[]));
  };

  for (;;) {
    if (at >= bytes.length) throw new Error(`${source}: the pickle ends at byte ${at} without its STOP opcode`);
    opAt = at;
    op = u8();
    switch (op) {
      case 0x80: // PROTO
        if (u8() > 5) fail('a pickle protocol newer than 5');
        break;
      case 0x95: // FRAME: a length hint
        u64();
        break;
      case 0x2e: // STOP
        if (stack.length !== 1) fail(`the pickle ends with ${stack.length} values on the stack, not one`);
        return pop();
      case 0x28: // MARK
        stack.push(MARK);
        break;
      case 0x30: // POP
        if (stack.length === 0) fail('the stack is empty');
        stack.pop();
        break;
      case 0x31: // POP_MARK
        popMark();
        break;
      case 0x32: // DUP
        stack.push(top());
        break;
      case 0x4e: // NONE
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
      case 0x89: // NEWFALSE
        stack.push(op === 0x88);
        break;
      case 0x4a: // BININT
        stack.push(dv.getInt32(need(4), true));
        break;
      case 0x4b: // BININT1
        stack.push(u8());
        break;
      case 0x4d: // BININT2
        stack.push(dv.getUint16(need(2), true));
        break;
      case 0x8a: // LONG1
      case 0x8b: {
        // LONG4: a little-endian two's-complement integer of n bytes
        const n = op === 0x8a ? u8() : u32();
        if (n > 64) fail(`an integer of ${n} bytes (a state dict's are at most 8)`);
        const start = need(n);
        let v = 0n;
        for (let i = n - 1; i >= 0; i--) v = (v << 8n) | BigInt(bytes[start + i]);
        if (n > 0 && bytes[start + n - 1] & 0x80) v -= 1n << BigInt(8 * n);
        stack.push(v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v);
        break;
      }
      case 0x47: // BINFLOAT (big-endian)
        stack.push(dv.getFloat64(need(8), false));
        break;
      case 0x58: // BINUNICODE
      case 0x54: // BINSTRING
        stack.push(str(u32()));
        break;
      case 0x8c: // SHORT_BINUNICODE
      case 0x55: // SHORT_BINSTRING
        stack.push(str(u8()));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(str(u64()));
        break;
      case 0x42: // BINBYTES
      case 0x43: // SHORT_BINBYTES
      case 0x8e: {
        // BINBYTES8
        const n = op === 0x42 ? u32() : op === 0x43 ? u8() : u64();
        const start = need(n);
        stack.push(bytes.slice(start, start + n));
        break;
      }
      case 0x5d: // EMPTY_LIST
        stack.push([]);
        break;
      case 0x61: // APPEND
      case 0x65: {
        // APPENDS
        const items = op === 0x61 ? [pop()] : popMark();
        append(top(), items);
        break;
      }
      case 0x6c: // LIST
      case 0x74: // TUPLE
        stack.push(popMark());
        break;
      case 0x29: // EMPTY_TUPLE
        stack.push([]);
        break;
      case 0x85: // TUPLE1
      case 0x86: // TUPLE2
      case 0x87: {
        // TUPLE3
        const n = op - 0x84;
        const items = Array.from({ length: n }, pop).reverse();
        stack.push(items);
        break;
      }
      case 0x7d: // EMPTY_DICT
        stack.push(new Map());
        break;
      case 0x64: {
        // DICT
        const d = new Map();
        setItems(d, popMark());
        stack.push(d);
        break;
      }
      case 0x73: {
        // SETITEM
        const v = pop();
        const k = pop();
        setItems(top(), [k, v]);
        break;
      }
      case 0x75: {
        // SETITEMS
        const items = popMark();
        setItems(top(), items);
        break;
      }
      case 0x8f: // EMPTY_SET
        stack.push(new Set());
        break;
      case 0x90: {
        // ADDITEMS
        const items = popMark();
        addItems(top(), items);
        break;
      }
      case 0x91: // FROZENSET
        stack.push(new Set(popMark()));
        break;
      case 0x63: {
        // GLOBAL: "module\nname\n"
        const module = line();
        stack.push(hooks.global(module, line()));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string')
          fail('a global named by values that are not strings');
        stack.push(hooks.global(module as string, name as string));
        break;
      }
      case 0x52: {
        // REDUCE
        const args = pop();
        stack.push(call(pop(), args));
        break;
      }
      case 0x62: {
        // BUILD: only a dict's attributes (state_dict's _metadata) come this way in a state dict; they are dropped
        const state = pop();
        const obj = top();
        if (!(obj instanceof Map)) fail('sets the state of an object that is not a dict');
        if (state !== null && !(state instanceof Map) && !Array.isArray(state)) fail('a dict state of an unknown kind');
        break;
      }
      case 0x51: // BINPERSID
        stack.push(hooks.persistentLoad(pop()));
        break;
      case 0x71: // BINPUT
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET
        stack.push(get(u8()));
        break;
      case 0x6a: // LONG_BINGET
        stack.push(get(u32()));
        break;
      default:
        fail('is not one a state dict of tensors uses');
    }
  }
}
