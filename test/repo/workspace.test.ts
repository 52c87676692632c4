import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';

// The build graph (tsconfig references) must be the dependency graph (package.json), or
// `tsc -b` builds packages in the wrong order and editors resolve stale declarations.

const root = join(__dirname, '..', '..');
const readJson = <T>(path: string): T => JSON.parse(readFileSync(path, 'utf8')) as T;

interface PackageJson {
  name: string;
  engines?: { node?: string };
  dependencies?: Record<string, string>;
  devDependencies?: Record<string, string>;
  workspaces?: string[];
}
interface TsConfig {
  files?: string[];
  extends?: string;
  references?: { path: string }[];
}

const packageDirs = readdirSync(join(root, 'packages')).filter((d) =>
  existsSync(join(root, 'packages', d, 'package.json')),
);
const packages = packageDirs.map((dir) => ({
  dir,
  pkg: readJson<PackageJson>(join(root, 'packages', dir, 'package.json')),
  ts: readJson<TsConfig>(join(root, 'packages', dir, 'tsconfig.json')),
}));
const byName = new Map(packages.map((p) => [p.pkg.name, p.dir]));

describe('workspace layout', () => {
  it.each(packages.map((p) => [p.dir, p] as const))(
    '%s references exactly the workspace packages it depends on',
    (_dir, p) => {
      const deps = Object.keys({ ...p.pkg.dependencies, ...p.pkg.devDependencies })
        .filter((name) => byName.has(name))
        .map((name) => `../${byName.get(name)}`)
        .sort();
      const refs = (p.ts.references ?? []).map((r) => r.path.replace(/\/$/, '')).sort();
      expect(refs).toEqual(deps);
    },
  );

  it.each(packages.map((p) => [p.dir, p] as const))(
    '%s extends the shared strict base',
    (_dir, p) => {
      expect(p.ts.extends).toBe('../../tsconfig.base.json');
      expect(p.pkg.engines?.node).toBe('>=20');
    },
  );

  it('the root tsconfig builds nothing itself and references every package', () => {
    const rootTs = readJson<TsConfig>(join(root, 'tsconfig.json'));
    expect(rootTs.files).toEqual([]);
    expect((rootTs.references ?? []).map((r) => r.path).sort()).toEqual(
      packageDirs.map((d) => `packages/${d}`).sort(),
    );
  });

  it('the root package lists every package as a workspace and requires Node 20', () => {
    const rootPkg = readJson<PackageJson>(join(root, 'package.json'));
    expect([...(rootPkg.workspaces ?? [])].sort()).toEqual(
      packageDirs.map((d) => `packages/${d}`).sort(),
    );
    expect(rootPkg.engines?.node).toBe('>=20');
  });

  it('the base config is strict', () => {
    const base = readJson<{ compilerOptions: Record<string, unknown> }>(
      join(root, 'tsconfig.base.json'),
    );
    expect(base.compilerOptions).toMatchObject({
      strict: true,
      composite: true,
      noUnusedLocals: true,
      noImplicitOverride: true,
      isolatedModules: true,
    });
  });

  it.each(packages.map((p) => [p.dir] as const))(
    '%s exports names explicitly from src/index.ts',
    (dir) => {
      const index = readFileSync(join(root, 'packages', dir, 'src', 'index.ts'), 'utf8');
      expect(index).not.toMatch(/export \*/);
    },
  );
});
