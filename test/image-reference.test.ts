import assert from 'node:assert/strict';
import { test } from 'node:test';
import { parseReference } from '../lib/index.js';
import { parseBytes } from '../lib/units.js';

test("references are normalised as Docker's are", () => {
  const cases: [string, string][] = [
    ['alpine', 'docker.io/library/alpine:latest'],
    ['alpine:3.20', 'docker.io/library/alpine:3.20'],
    ['user/app', 'docker.io/user/app:latest'],
    ['localhost/busybox', 'localhost/busybox:latest'],
    ['localhost:5000/ns/app:1.2', 'localhost:5000/ns/app:1.2'],
    ['127.0.0.1:5000/app', '127.0.0.1:5000/app:latest'],
    ['registry.example/a/b/c:v1', 'registry.example/a/b/c:v1'],
    [`app@sha256:${'a'.repeat(64)}`, `docker.io/library/app@sha256:${'a'.repeat(64)}`],
    [`host:5000/app:1@sha256:${'b'.repeat(64)}`, `host:5000/app:1@sha256:${'b'.repeat(64)}`],
  ];
  for (const [input, canonical] of cases) assert.equal(parseReference(input).canonical, canonical, input);
  const parsed = parseReference('localhost:5000/ns/app:1.2');
  assert.deepEqual([parsed.domain, parsed.path, parsed.tag, parsed.digest], ['localhost:5000', 'ns/app', '1.2', undefined]);
});

test('malformed references are TypeErrors that quote the input', () => {
  for (const bad of ['', 'UPPER', 'a b', 'app:', 'app@sha256:123', 'app:tag:tag', '/app', 'app//x', 'app:-tag', `app:${'t'.repeat(129)}`]) {
    assert.throws(() => parseReference(bad), TypeError, bad);
  }
  assert.throws(() => parseReference('Bad Ref'), /'Bad Ref' is not a valid image reference/);
});

test('byte sizes accept numbers and units, and reject the rest', () => {
  assert.equal(parseBytes(1024, 'x'), 1024);
  assert.equal(parseBytes('512k', 'x'), 512 * 1024);
  assert.equal(parseBytes('10m', 'x'), 10 * 1024 ** 2);
  assert.equal(parseBytes('1.5g', 'x'), 1.5 * 1024 ** 3);
  assert.equal(parseBytes('2MiB', 'x'), 2 * 1024 ** 2);
  assert.throws(() => parseBytes('lots', 'memory'), { name: 'TypeError', message: /memory must be a size/ });
  assert.throws(() => parseBytes(-1, 'memory'), RangeError);
  assert.throws(() => parseBytes(1.5, 'memory'), TypeError);
});
