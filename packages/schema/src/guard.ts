import { types, type ForSchemaOptions, type Schema, type Type } from 'avsc';

// avsc trusts the block counts of arrays and maps: a corrupt count of billions makes it
// preallocate and loop until the process runs out of memory, before it notices the buffer
// ended. Every array item and map entry in these schemas takes at least one byte, so a block
// claiming more items than bytes left is corrupt; the guarded readers below reject it at once.
// Resolvers call the reader type's `_read`, so resolved reads are covered too.

interface Tap {
  buf: Buffer;
  pos: number;
  readLong(): number;
  skipLong(): void;
  readString(): string;
}

interface Readable {
  _read(tap: Tap): unknown;
}

function blockSize(tap: Tap, what: string): number {
  let n = tap.readLong();
  if (n < 0) {
    n = -n;
    tap.skipLong();
  }
  const left = tap.buf.length - tap.pos;
  if (n > left) throw new RangeError(`${what} block of ${n} items exceeds the ${left} bytes left`);
  return n;
}

function guardedArrayRead(this: { itemsType: Readable }, tap: Tap): unknown[] {
  const values: unknown[] = [];
  for (let n = blockSize(tap, 'array'); n !== 0; n = blockSize(tap, 'array')) {
    while (n--) values.push(this.itemsType._read(tap));
  }
  return values;
}

function guardedMapRead(this: { valuesType: Readable }, tap: Tap): Record<string, unknown> {
  const values: Record<string, unknown> = {};
  for (let n = blockSize(tap, 'map'); n !== 0; n = blockSize(tap, 'map')) {
    while (n--) {
      const key = tap.readString();
      values[key] = this.valuesType._read(tap);
    }
  }
  return values;
}

class GuardedArrayType extends types.ArrayType {}
class GuardedMapType extends types.MapType {}
Object.assign(GuardedArrayType.prototype, { _read: guardedArrayRead });
Object.assign(GuardedMapType.prototype, { _read: guardedMapRead });

/**
 * `typeHook` for `Type.forSchema` that builds arrays and maps with the guarded readers.
 * (avsc freezes each type, so the readers are swapped in by subclassing, not by assignment.)
 */
export function guardedTypeHook(schema: Schema, opts: ForSchemaOptions): Type | undefined {
  if (typeof schema !== 'object' || Array.isArray(schema)) return undefined;
  const kind = (schema as { type?: unknown }).type;
  if (kind === 'array' && (schema as { items?: unknown }).items !== 'null') {
    return new GuardedArrayType(schema, opts);
  }
  if (kind === 'map') return new GuardedMapType(schema, opts);
  return undefined;
}
