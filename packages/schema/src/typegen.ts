import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { shippedSchemas, type SchemaVersion } from './schemas';

// Generates TypeScript interfaces from the newest version of every shipped schema. The output
// is committed (src/generated/types.ts) and a test fails when it differs from a fresh run, so
// the types cannot drift from the .avsc files.

type Json = string | number | boolean | null | Json[] | { [key: string]: Json };
type SchemaNode = string | SchemaNode[] | { [key: string]: Json };

const PRIMITIVES: Record<string, string> = {
  null: 'null',
  boolean: 'boolean',
  int: 'number',
  // Every long in these schemas (epoch microseconds, TTLs) stays below 2^53.
  long: 'number',
  float: 'number',
  double: 'number',
  bytes: 'Buffer',
  string: 'string',
};

function shortName(fullName: string): string {
  return fullName.slice(fullName.lastIndexOf('.') + 1);
}

function docComment(doc: Json | undefined, indent: string): string {
  return typeof doc === 'string' ? `${indent}/** ${doc} */\n` : '';
}

class Renderer {
  private readonly out: string[] = [];
  private readonly seen = new Set<string>();

  typeOf(node: SchemaNode): string {
    if (typeof node === 'string') return PRIMITIVES[node] ?? shortName(node);
    if (Array.isArray(node)) return node.map((n) => this.typeOf(n)).join(' | ');
    const kind = node['type'] as string;
    switch (kind) {
      case 'record':
      case 'enum':
        this.declare(node);
        return shortName(node['name'] as string);
      case 'array':
        return `Array<${this.typeOf(node['items'] as SchemaNode)}>`;
      case 'map':
        return `Record<string, ${this.typeOf(node['values'] as SchemaNode)}>`;
      default:
        return PRIMITIVES[kind] ?? shortName(kind);
    }
  }

  declare(node: { [key: string]: Json }): void {
    const name = shortName(node['name'] as string);
    if (this.seen.has(name)) return;
    this.seen.add(name);
    if (node['type'] === 'enum') {
      const symbols = (node['symbols'] as string[]).map((s) => `'${s}'`).join(' | ');
      this.out.push(`${docComment(node['doc'], '')}export type ${name} = ${symbols};\n`);
      return;
    }
    const lines = (node['fields'] as { [key: string]: Json }[]).map(
      (f) =>
        `${docComment(f['doc'], '  ')}  ${f['name'] as string}: ${this.typeOf(f['type'] as SchemaNode)};\n`,
    );
    this.out.push(`${docComment(node['doc'], '')}export interface ${name} {\n${lines.join('')}}\n`);
  }

  render(): string {
    return this.out.join('\n');
  }
}

/** TypeScript declarations for the newest version of every shipped schema. */
export function renderTypes(schemas: readonly SchemaVersion[] = shippedSchemas()): string {
  const latest = new Map<string, SchemaVersion>();
  for (const s of schemas) latest.set(s.name, s);
  const renderer = new Renderer();
  for (const s of latest.values()) {
    renderer.typeOf(s.type.schema({ exportAttrs: true }) as SchemaNode);
  }
  const header =
    '// Generated from packages/schema/avsc by src/typegen.ts (`npm run gen`). Do not edit.\n' +
    `// Versions: ${[...latest.values()].map((s) => `${s.name} v${s.version}`).join(', ')}\n\n`;
  return header + renderer.render();
}

/** Where the generated declarations live. */
export const GENERATED_TYPES_FILE = join(__dirname, '..', 'src', 'generated', 'types.ts');

if (require.main === module) {
  writeFileSync(GENERATED_TYPES_FILE, renderTypes());
}
