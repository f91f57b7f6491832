import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createSocket } from 'node:dgram';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { test } from 'node:test';
import { BUSYBOX, roundTrip, temporaryRuntime, waitUntil, withDeadline } from './helpers.js';
import { childrenOf } from './helpers-process.js';

// Published ports into a container with a user namespace of its own. Its
// network namespace belongs to that user namespace, so the monitor makes the
// upstream sockets through a netns agent (addon/netns_agent.h): a process of
// the monitor's in the container's user and network namespaces, one per run.

// `userns: 'auto'`, spread so that this file typechecks before the userns option is in
const USERNS_AUTO: Record<string, unknown> = { userns: 'auto' };

/** The netns agents (children of `monitorPid` named berth-netns). */
function agentsOf(monitorPid: number): number[] {
  return childrenOf(monitorPid, (_pid, stat) => stat.includes('(berth-netns)'));
}

function isAgent(pid: number): boolean {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    return stat.includes('(berth-netns)') && !stat.includes(') Z ');
  } catch {
    return false;
  }
}

function udpRoundTrip(port: number, text: string): Promise<string> {
  const socket = createSocket('udp4');
  const send = () => socket.send(text, port, '127.0.0.1');
  send();
  const retry = setInterval(send, 100); // until the server inside is up
  return withDeadline(new Promise<string>((resolve) => socket.on('message', (message) => resolve(message.toString()))), 'the UDP echo')
    .finally(() => {
      clearInterval(retry);
      socket.close();
    });
}

test("published TCP and UDP ports reach a userns: 'auto' container through its netns agent, which goes with the run", async () => {
  await using runtime = await temporaryRuntime();
  // busybox has no UDP server: the static fixture, bind-mounted in
  const dir = mkdtempSync(join(tmpdir(), 'berth-userns-ports-'));
  try {
    const echo = join(dir, 'udp-echo');
    execFileSync('cc', ['-O2', '-static', '-o', echo, join(import.meta.dirname, 'fixtures/udp-echo.c')]);
    chmodSync(dir, 0o755);
    await using container = await runtime.containers.create({
      image: BUSYBOX,
      ...USERNS_AUTO,
      ports: { '80/tcp': 0, '53/udp': 0 },
      mounts: [{ type: 'bind', source: echo, target: '/bin/udp-echo', readonly: true }],
      cmd: ['sh', '-c', '/bin/udp-echo 53 & while true; do nc -l -p 80 -e cat; done'],
    });
    await container.start();
    const { state } = await container.inspect();
    const pid = state.pid!;
    // the container really has a user namespace of its own (root is not host root)
    assert.notEqual(readFileSync(`/proc/${pid}/uid_map`, 'utf8').trim().split(/\s+/).join(' '), '0 0 4294967295');
    assert.notEqual(readlinkSync(`/proc/${pid}/ns/user`), readlinkSync('/proc/self/ns/user'));

    assert.equal(await roundTrip((await container.port('80/tcp'))!, 'tcp through the agent\n'), 'tcp through the agent\n');
    assert.equal(await udpRoundTrip((await container.port('53/udp'))!, 'udp through the agent'), 'echo:udp through the agent');

    // one agent, in the container's user and network namespaces
    const agents = agentsOf(state.monitorPid!);
    assert.equal(agents.length, 1, 'one netns agent for the run');
    const agent = agents[0]!;
    for (const ns of ['user', 'net']) assert.equal(readlinkSync(`/proc/${agent}/ns/${ns}`), readlinkSync(`/proc/${pid}/ns/${ns}`), ns);
    // no capability left in it
    assert.match(readFileSync(`/proc/${agent}/status`, 'utf8'), /^CapEff:\s+0+$/m);

    await container.stop({ timeout: 0 });
    await waitUntil(() => !isAgent(agent), 'the netns agent to be gone after stop');

    // a monitor killed outright takes its agent along (PR_SET_PDEATHSIG)
    await container.start();
    const again = await container.inspect();
    const [second] = agentsOf(again.state.monitorPid!);
    assert.ok(second, 'a new agent for the new run');
    process.kill(again.state.monitorPid!, 'SIGKILL');
    await waitUntil(() => !isAgent(second), 'the netns agent to be gone after its monitor was killed');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
});
