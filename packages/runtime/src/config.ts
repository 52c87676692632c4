import { readFileSync } from 'node:fs';
import { extname } from 'node:path';
import { parse as parseYaml } from 'yaml';
import type { z } from 'zod';
import { ConfigError, type ConfigProblem } from './errors';

// Configuration is one zod schema per component, filled from (lowest to highest precedence)
// defaults, a YAML/JSON file, environment variables and command-line flags. Every object in a
// schema is strict, so a misspelt key is an error that names it instead of a silent default.
//
//   file:  kafka: { brokers: [a:9092] }
//   env:   DNSFLOW_KAFKA__BROKERS=a:9092,b:9092     (double underscore = nesting)
//          DNSFLOW_KAFKA__SASL__PASSWORD_FILE=/run/secrets/pw   (value read from the file)
//   flag:  --kafka.brokers=a:9092,b:9092

type Json = unknown;
type Tree = Record<string, Json>;

/** Where the configuration comes from; every part is optional. */
export interface ConfigSources {
  /** Path of a YAML or JSON file. */
  file?: string;
  /** Environment (defaults to none: pass process.env explicitly). */
  env?: NodeJS.ProcessEnv;
  /** Prefix of the environment variables that belong to this component. */
  envPrefix?: string;
  /** `--a.b=value` / `--a.b value` flags (already split from the command's own arguments). */
  flags?: readonly string[];
}

/**
 * Variables of the development tooling (services script, tests, benchmarks) that share
 * the DNSFLOW_ prefix but are never component config: a shell that exports
 * DNSFLOW_KEEP_SERVICES=1 must not make `dnsflow decode` reject its environment.
 */
export const TOOLING_ENV =
  /^DNSFLOW_(TEST|BENCH|FUZZ)_|^DNSFLOW_(CORPUS|SKIP_SYSTEM_DEPS|SERVICES_DIR|KEEP_SERVICES|JVM_ROOT)$/;

const SECRET_KEY = /pass(word)?|secret|token|api_?key|credential|private/i;

type Kind =
  'string' | 'number' | 'boolean' | 'array' | 'number[]' | 'boolean[]' | 'object' | 'other';

/** The zod definition below wrappers (optional, default, nullable, pipes). */
function unwrap(schema: z.ZodType): z.ZodType {
  let current = schema;
  for (;;) {
    const def = current._zod.def as { type: string; innerType?: z.ZodType; in?: z.ZodType };
    if (
      (def.type === 'optional' ||
        def.type === 'default' ||
        def.type === 'nullable' ||
        def.type === 'prefault') &&
      def.innerType
    ) {
      current = def.innerType;
    } else if (def.type === 'pipe' && def.in) {
      current = def.in;
    } else {
      return current;
    }
  }
}

/** The kind of value a dotted path holds in `schema`, or undefined for an unknown key. */
function kindAt(schema: z.ZodType, path: readonly string[]): Kind | undefined {
  const node = unwrap(schema);
  const def = node._zod.def as { type: string; shape?: Record<string, z.ZodType> };
  if (path.length === 0) {
    if (def.type === 'string' || def.type === 'enum' || def.type === 'literal') return 'string';
    if (def.type === 'number' || def.type === 'int' || def.type === 'bigint') return 'number';
    if (def.type === 'boolean') return 'boolean';
    if (def.type === 'array') {
      // Elements are coerced too, so `--capture.ports=53,5353` gives numbers.
      const element = (def as { element?: z.ZodType }).element;
      const inner = element ? kindAt(element, []) : undefined;
      return inner === 'number' ? 'number[]' : inner === 'boolean' ? 'boolean[]' : 'array';
    }
    if (def.type === 'object' || def.type === 'record') return 'object';
    return 'other';
  }
  if (def.type !== 'object' || !def.shape) return def.type === 'record' ? 'other' : undefined;
  const child = def.shape[path[0]!];
  return child ? kindAt(child, path.slice(1)) : undefined;
}

/** Turns the text of an env var or flag into the kind of value the schema expects there. */
function coerce(text: string, kind: Kind | undefined): Json {
  const trimmed = text.trim();
  switch (kind) {
    case 'number': {
      const n = Number(trimmed);
      return trimmed !== '' && Number.isFinite(n) ? n : text;
    }
    case 'boolean':
      if (/^(true|1|yes|on)$/i.test(trimmed)) return true;
      if (/^(false|0|no|off)$/i.test(trimmed)) return false;
      return text;
    case 'array':
    case 'number[]':
    case 'boolean[]': {
      if (trimmed.startsWith('[')) return tryJson(trimmed);
      const items = trimmed === '' ? [] : trimmed.split(',').map((s) => s.trim());
      if (kind === 'array') return items;
      return items.map((item) => coerce(item, kind === 'number[]' ? 'number' : 'boolean'));
    }
    case 'object':
    case 'other':
      return trimmed.startsWith('{') || trimmed.startsWith('[') ? tryJson(trimmed) : text;
    default:
      return text;
  }
}

function tryJson(text: string): Json {
  try {
    return JSON.parse(text) as Json;
  } catch {
    return text;
  }
}

function setPath(tree: Tree, path: readonly string[], value: Json): void {
  let node = tree;
  for (const key of path.slice(0, -1)) {
    const next = node[key];
    if (next === null || typeof next !== 'object' || Array.isArray(next)) node[key] = {};
    node = node[key] as Tree;
  }
  node[path[path.length - 1]!] = value;
}

function isTree(value: Json): value is Tree {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Deep merge of plain objects; arrays and scalars of `over` replace those of `base`. */
function merge(base: Tree, over: Tree): Tree {
  const out: Tree = { ...base };
  for (const [key, value] of Object.entries(over)) {
    const current = out[key];
    out[key] = isTree(current) && isTree(value) ? merge(current, value) : value;
  }
  return out;
}

/** One segment of an environment variable name as a config key: CLIENT_ID -> clientId. */
function envKey(segment: string): string {
  return segment.toLowerCase().replace(/_([a-z0-9])/g, (_m, c: string) => c.toUpperCase());
}

function readFile(file: string): Tree {
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (err) {
    throw new ConfigError([
      {
        key: '(file)',
        expected: 'a readable YAML or JSON file',
        found: (err as Error).message,
        source: file,
      },
    ]);
  }
  try {
    const parsed: Json = extname(file) === '.json' ? JSON.parse(text) : parseYaml(text);
    if (parsed === null || parsed === undefined) return {};
    if (!isTree(parsed)) {
      throw new Error(`a ${Array.isArray(parsed) ? 'list' : typeof parsed} at the top level`);
    }
    return parsed;
  } catch (err) {
    throw new ConfigError([
      {
        key: '(file)',
        expected: 'a mapping of configuration keys',
        found: (err as Error).message,
        source: file,
      },
    ]);
  }
}

function describe(value: Json, key: string): string {
  if (value === undefined) return 'nothing';
  if (SECRET_KEY.test(key))
    return `a ${Array.isArray(value) ? 'list' : typeof value} (value hidden)`;
  const text = JSON.stringify(value);
  const shown = text.length > 60 ? `${text.slice(0, 57)}...` : text;
  return `${Array.isArray(value) ? 'list' : value === null ? 'null' : typeof value} ${shown}`;
}

function valueAt(tree: Json, path: readonly PropertyKey[]): Json {
  let node = tree;
  for (const key of path) {
    if (node === null || typeof node !== 'object') return undefined;
    node = (node as Record<PropertyKey, Json>)[key];
  }
  return node;
}

/**
 * Loads and validates a component's configuration. Throws {@link ConfigError} listing every
 * problem (unknown keys included), each naming the key, what was expected, what was found
 * and which source set it.
 */
export function loadConfig<S extends z.ZodType>(
  schema: S,
  sources: ConfigSources = {},
): z.infer<S> {
  const origin = new Map<string, string>();
  let tree: Tree = {};
  if (sources.file) {
    tree = readFile(sources.file);
    origin.set('', `file ${sources.file}`);
  }

  const prefix = sources.envPrefix ?? 'DNSFLOW_';
  const envTree: Tree = {};
  for (const [name, raw] of Object.entries(sources.env ?? {})) {
    if (!name.startsWith(prefix) || raw === undefined || TOOLING_ENV.test(name)) continue;
    let rest = name.slice(prefix.length);
    let text = raw;
    if (rest.endsWith('_FILE')) {
      rest = rest.slice(0, -'_FILE'.length);
      try {
        text = readFileSync(raw, 'utf8').trim();
      } catch (err) {
        throw new ConfigError([
          {
            key: rest.split('__').map(envKey).join('.'),
            expected: 'a readable file',
            found: (err as Error).message,
            source: `env ${name}`,
          },
        ]);
      }
    }
    const path = rest.split('__').map(envKey);
    setPath(envTree, path, coerce(text, kindAt(schema, path)));
    origin.set(path.join('.'), `env ${name}`);
  }

  const flagTree: Tree = {};
  const flags = sources.flags ?? [];
  for (let i = 0; i < flags.length; i++) {
    const flag = flags[i]!;
    if (!flag.startsWith('--')) {
      throw new ConfigError([
        {
          key: flag,
          expected: 'a flag of the form --key=value',
          found: `argument ${JSON.stringify(flag)}`,
        },
      ]);
    }
    const eq = flag.indexOf('=');
    const key = eq === -1 ? flag.slice(2) : flag.slice(2, eq);
    const path = key.split('.');
    const kind = kindAt(schema, path);
    let text: string;
    if (eq !== -1) text = flag.slice(eq + 1);
    else if (kind === 'boolean' && (flags[i + 1] === undefined || flags[i + 1]!.startsWith('--')))
      text = 'true';
    else if (flags[i + 1] !== undefined) text = flags[++i]!;
    else
      throw new ConfigError([
        { key, expected: 'a value after the flag', found: 'nothing', source: `flag --${key}` },
      ]);
    setPath(flagTree, path, coerce(text, kind));
    origin.set(key, `flag --${key}`);
  }

  const merged = merge(merge(tree, envTree), flagTree);
  const result = schema.safeParse(merged, { reportInput: true });
  if (result.success) return result.data;

  const sourceOf = (key: string): string | undefined => {
    for (let k = key; ; k = k.includes('.') ? k.slice(0, k.lastIndexOf('.')) : '') {
      const found = origin.get(k);
      if (found || k === '') return found;
    }
  };
  const problems: ConfigProblem[] = result.error.issues.flatMap((issue): ConfigProblem[] => {
    const base = issue.path.map(String).join('.');
    if (issue.code === 'unrecognized_keys') {
      return issue.keys.map((k) => {
        const key = base ? `${base}.${k}` : k;
        return {
          key,
          expected: 'no such key (unknown keys are rejected)',
          found: describe(valueAt(merged, [...issue.path, k]), key),
          source: sourceOf(key),
        };
      });
    }
    const expected =
      issue.code === 'invalid_type'
        ? issue.expected
        : issue.message.replace(/^Invalid (option|input): /, '').replace(/^expected /, '');
    return [
      {
        key: base,
        expected,
        found: describe(valueAt(merged, issue.path), base),
        source: sourceOf(base),
      },
    ];
  });
  throw new ConfigError(problems);
}
