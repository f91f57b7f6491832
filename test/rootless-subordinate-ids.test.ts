// /etc/subuid and /etc/subgid parsing, the rootless id maps built from them,
// and the host checks of a rootless runtime: the files are treated as input
// that may be malformed or hostile (overlapping, overflowing, huge).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { RootlessUnsupportedError } from '../lib/index.js';
import { checkRootlessLimits, detectDelegation } from '../lib/cgroup/cgroup-delegation.js';
import { cgroupMounts } from '../lib/cgroup/cgroup-mode.js';
import { defaultRootlessRoot, runtimeDirectory } from '../lib/runtime.js';
import { checkRootlessHost, kernelAtLeast, type RootlessHostFacts } from '../lib/userns/rootless-host.js';
import { rootlessIdMaps } from '../lib/userns/rootless-id-maps.js';
import { parseSubordinateIds } from '../lib/userns/subordinate-ids.js';

const alice = { name: 'alice', id: 2901 };

function refused(pattern: RegExp) {
  return (error: unknown) => {
    assert.ok(error instanceof RootlessUnsupportedError, String(error));
    assert.equal(error.code, 'ERR_ROOTLESS_UNSUPPORTED');
    assert.match(error.message, pattern);
    return true;
  };
}

test('subordinate ids: the user\'s lines by name or uid, in file order; malformed lines are ignored', () => {
  const text = [
    '# a comment',
    '',
    'alice:100000:65536',
    'bob:300000:65536',
    '2901:500000:10',
    'alice:600000',            // two fields
    'alice:1:2:3',             // four fields
    'alice:abc:10',            // not a number
    'alice:-5:10',
    'alice:0x10:10',
    'alice:0700000:5',         // a leading zero: not shadow's decimal
    'alice:700000:0',          // an empty range
    'alice:1:99999999999',     // more digits than an id has
    ' alice:800000:1 ',        // surrounding blanks are fine
    'alicex:900000:10',        // another name that starts alike
    'alice :900000:10',
  ].join('\n');
  assert.deepEqual(parseSubordinateIds(text, alice, '/etc/subuid'), [
    { start: 100000, count: 65536 },
    { start: 500000, count: 10 },
    { start: 800000, count: 1 },
  ]);
  assert.deepEqual(parseSubordinateIds(text, { name: 'nobody-here', id: 1234 }, '/etc/subuid'), []);
});

test('subordinate ids: overlapping, overflowing and own-id ranges are refused with the file and line', () => {
  assert.throws(() => parseSubordinateIds('alice:100000:65536\n2901:165000:10\n', alice, '/etc/subuid'),
    refused(/^subordinate ids: \/etc\/subuid line 2 \(2901:165000:10\) overlaps line 1 \(100000:65536\); berth refuses to map it/));
  assert.throws(() => parseSubordinateIds('alice:4294967290:10\n', alice, '/etc/subgid'),
    refused(/\/etc\/subgid line 1 \(alice:4294967290:10\) runs past the last id \(4294967294\)/));
  assert.throws(() => parseSubordinateIds('alice:2900:10\n', alice, '/etc/subuid'), refused(/holds the user's own id 2901/));
  // another user's bad line is not this user's concern
  assert.deepEqual(parseSubordinateIds('bob:4294967290:10\nbob:1:5\nbob:2:5\nalice:1000:5\n', alice, '/etc/subuid'), [{ start: 1000, count: 5 }]);
});

test('rootless id maps: the caller is 0, its ranges follow from 1; a single-id map without ranges; too many ranges refused', () => {
  const dir = mkdtempSync(join(tmpdir(), 'berth-subid-'));
  try {
    const subuid = join(dir, 'subuid');
    const subgid = join(dir, 'subgid');
    writeFileSync(subuid, 'alice:200000:65536\nalice:400000:1000\n');
    writeFileSync(subgid, '2902:300000:100\n');
    assert.deepEqual(rootlessIdMaps({ uid: 2901, gid: 2902, name: 'alice', subuidFile: subuid, subgidFile: subgid }), {
      uidMap: [
        { containerId: 0, hostId: 2901, size: 1 },
        { containerId: 1, hostId: 200000, size: 65536 },
        { containerId: 65537, hostId: 400000, size: 1000 },
      ],
      gidMap: [{ containerId: 0, hostId: 2902, size: 1 }, { containerId: 1, hostId: 300000, size: 100 }],
      mapWith: 'newuidmap',
    });
    // nothing configured (or no files at all): the caller alone
    assert.deepEqual(rootlessIdMaps({ uid: 2901, gid: 2902, name: 'carol', subuidFile: subuid, subgidFile: join(dir, 'missing') }), {
      uidMap: [{ containerId: 0, hostId: 2901, size: 1 }],
      gidMap: [{ containerId: 0, hostId: 2902, size: 1 }],
      mapWith: 'newuidmap',
    });
    // a hostile file: more ranges than the kernel takes in one map
    writeFileSync(subuid, Array.from({ length: 400 }, (_, i) => `alice:${100000 + i * 10}:5`).join('\n'));
    assert.throws(() => rootlessIdMaps({ uid: 2901, gid: 2902, name: 'alice', subuidFile: subuid, subgidFile: subgid }),
      refused(/do not make a map the kernel takes: the map has 401 ranges, the kernel takes at most 340/));
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});

test('rootless host checks: old kernels, disabled user namespaces and missing newuidmap are typed errors saying what to do', () => {
  const single = { uidMap: [{ containerId: 0, hostId: 2901, size: 1 }], gidMap: [{ containerId: 0, hostId: 2901, size: 1 }], mapWith: 'newuidmap' as const };
  const ranged = { ...single, uidMap: [...single.uidMap, { containerId: 1, hostId: 200000, size: 65536 }] };
  const tools = { newuidmap: '/usr/bin/newuidmap', newgidmap: '/usr/bin/newgidmap' };
  const facts = (over: Partial<RootlessHostFacts> & { sysctls?: Record<string, string> } = {}): RootlessHostFacts => ({
    kernel: over.kernel ?? '6.1.0-18-amd64', sysctl: (name) => over.sysctls?.[name], tools: 'tools' in over ? over.tools : tools,
  });
  assert.doesNotThrow(() => checkRootlessHost(ranged, facts()));
  assert.doesNotThrow(() => checkRootlessHost(single, facts({ tools: undefined })));
  assert.throws(() => checkRootlessHost(single, facts({ kernel: '5.10.0-28-amd64' })), refused(/Linux has from 5\.11; this kernel is 5\.10\.0-28-amd64\. Upgrade the kernel, or run berth as root/));
  assert.throws(() => checkRootlessHost(single, facts({ sysctls: { 'user/max_user_namespaces': '0' } })), refused(/user\.max_user_namespaces = 0.*sysctl -w user\.max_user_namespaces=15000/));
  assert.throws(() => checkRootlessHost(single, facts({ sysctls: { 'kernel/unprivileged_userns_clone': '0' } })), refused(/kernel\.unprivileged_userns_clone=1/));
  assert.throws(() => checkRootlessHost(single, facts({ sysctls: { 'kernel/apparmor_restrict_unprivileged_userns': '1' } })), refused(/apparmor_restrict_unprivileged_userns/));
  assert.throws(() => checkRootlessHost(ranged, facts({ tools: undefined })), refused(/newuidmap and newgidmap.*are not installed.*apt-get install uidmap/));
  assert.equal(kernelAtLeast('5.11.0', 5, 11), true);
  assert.equal(kernelAtLeast('4.19.0', 5, 11), false);
  assert.equal(kernelAtLeast('10.0', 5, 11), true);
});

test('rootless paths: XDG_DATA_HOME or ~/.local/share for the root, XDG_RUNTIME_DIR (or <root>/run) for runtime files', () => {
  assert.equal(defaultRootlessRoot({ XDG_DATA_HOME: '/data/alice', HOME: '/home/alice' }), '/data/alice/berth');
  assert.equal(defaultRootlessRoot({ XDG_DATA_HOME: 'relative', HOME: '/home/alice' }), '/home/alice/.local/share/berth');
  assert.equal(defaultRootlessRoot({ HOME: '/home/alice' }), '/home/alice/.local/share/berth');
  assert.equal(runtimeDirectory(true, '/r', { XDG_RUNTIME_DIR: '/run/user/2901' }), '/run/user/2901/berth');
  assert.equal(runtimeDirectory(true, '/r', {}), '/r/run');
  assert.equal(runtimeDirectory(false, '/r', { XDG_RUNTIME_DIR: '/run/user/0' }), '/run/berth');
});

test('rootless limits without a delegated cgroup: refused with the limit named and how to get delegation', () => {
  const none = { delegated: false, controllers: [], reason: '/sys/fs/cgroup/x is not writable by this user' };
  assert.throws(() => checkRootlessLimits({ memory: '64m', pidsLimit: 5 }, none, 'containers.create'),
    refused(/^containers\.create: memory, pidsLimit are limits that need a cgroup, and this rootless runtime has none \(\/sys\/fs\/cgroup\/x is not writable by this user\)\. Drop the limit, or: rootless limits need a delegated cgroup v2 subtree: .*Delegate=yes/));
  assert.doesNotThrow(() => checkRootlessLimits({}, none, 'containers.create'));
  assert.doesNotThrow(() => checkRootlessLimits({ memory: '64m' }, { delegated: true, controllers: ['memory'] }, 'containers.create'));
  // cgroup v1 cannot be delegated
  const v1 = cgroupMounts('30 1 0:26 / /sys/fs/cgroup/memory rw - cgroup cgroup rw,memory\n');
  assert.deepEqual(detectDelegation(v1, new Map([['memory', '/']])), {
    delegated: false, controllers: [], reason: 'the host does not use cgroup v2 (a user cannot be delegated cgroup v1 hierarchies)',
  });
});
