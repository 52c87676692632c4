import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { renderTypes } from '../src/typegen';

describe('generated TypeScript types', () => {
  it('match the .avsc schemas (run `npm run gen` after changing a schema)', () => {
    const committed = readFileSync(join(__dirname, '..', 'src', 'generated', 'types.ts'), 'utf8');
    expect(committed).toBe(renderTypes());
  });
});
