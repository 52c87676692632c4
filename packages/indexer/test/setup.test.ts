import { SetupError } from '../src/errors';
import { assertSupportedVersion } from '../src/setup';

describe('assertSupportedVersion', () => {
  it('accepts Elasticsearch 8.11 and later, 9.x included', () => {
    for (const v of ['8.11.0', '8.19.21', '9.0.0', '9.5.3']) {
      expect(() => assertSupportedVersion(v)).not.toThrow();
    }
  });

  it('refuses older versions with a message naming the version and the minimum', () => {
    for (const v of ['7.17.25', '8.10.4', 'not-a-version']) {
      let error: unknown;
      try {
        assertSupportedVersion(v);
      } catch (err) {
        error = err;
      }
      expect(error).toBeInstanceOf(SetupError);
      expect((error as SetupError).problem).toBe('version');
      expect((error as SetupError).message).toContain(`version ${v} is too old`);
      expect((error as SetupError).message).toContain('8.11 or later');
    }
  });
});
