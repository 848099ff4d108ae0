// Permission requests from a real agent, through each policy: the decision, the option picked by kind,
// and the event that records both with the reason.
import assert from 'node:assert/strict';
import { mkdirSync, symlinkSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { DenyAll, InteractivePolicy, WorkdirApprove, type PermissionContext, type PermissionEvent } from '../../src/acp';
import { removeWorkdir, runScripted, script, tempWorkdir } from './helpers';

let workdir: string;
before(() => {
  workdir = tempWorkdir();
  mkdirSync(join(workdir, 'src'));
  symlinkSync('/etc', join(workdir, 'etc-link'));
});
after(() => removeWorkdir(workdir));

const decisions = (events: { type: string }[]) => events.filter((e): e is PermissionEvent => e.type === 'permission');
const workdirPolicy = { policy: new WorkdirApprove() };

describe('WorkdirApprove', () => {
  it('approves an edit inside the workdir with allow_once, not the first option offered', async () => {
    const r = await runScripted(
      workdir,
      script({ permission: { toolCall: { toolCallId: 'e1', title: 'Edit', kind: 'edit', locations: [{ path: join(workdir, 'src/a.ts') }] } } }),
      workdirPolicy,
    );
    assert.equal(r.outputText, 'permission:selected:once');
    const [d] = decisions(r.events);
    assert.equal(d.decision, 'allow');
    assert.equal(d.optionKind, 'allow_once');
    assert.equal(d.policy, 'workdir');
    assert.match(d.reason, /inside the workdir/);
    assert.deepEqual(d.paths, [join(workdir, 'src/a.ts')]);
  });

  it('rejects what leaves the workdir with reject_once', async () => {
    const r = await runScripted(
      workdir,
      script({ permission: { toolCall: { toolCallId: 'e2', kind: 'edit', rawInput: { file_path: '/etc/passwd' } } } }),
      workdirPolicy,
    );
    assert.equal(r.outputText, 'permission:selected:no');
    const [d] = decisions(r.events);
    assert.equal(d.decision, 'reject');
    assert.match(d.reason, /outside the workdir: \/etc\/passwd/);
  });

  it('sees through relative escapes and symlinks', async () => {
    const r = await runScripted(
      workdir,
      script(
        { permission: { toolCall: { toolCallId: 'r1', kind: 'edit', rawInput: { path: '../../x' } } } },
        { permission: { toolCall: { toolCallId: 'r2', kind: 'read', locations: [{ path: join(workdir, 'etc-link/hosts') }] } } },
      ),
      workdirPolicy,
    );
    assert.equal(r.outputText, 'permission:selected:nopermission:selected:no');
  });

  it('judges a bare toolCallId by what earlier tool_call updates said', async () => {
    const r = await runScripted(
      workdir,
      script(
        { tool: { toolCallId: 'in', title: 'Write', kind: 'edit', locations: [{ path: join(workdir, 'src/ok.ts') }] } },
        { tool: { toolCallId: 'out', title: 'Write', kind: 'edit', rawInput: { path: 'src/fine.ts' } } },
        { toolUpdate: { toolCallId: 'out', content: [{ type: 'diff', path: '/tmp/elsewhere.txt', newText: 'x' }] } },
        { permission: { toolCall: { toolCallId: 'in' } } },
        { permission: { toolCall: { toolCallId: 'out' } } },
      ),
      workdirPolicy,
    );
    assert.equal(r.outputText, 'permission:selected:oncepermission:selected:no');
    const [inside, outside] = decisions(r.events);
    assert.equal(inside.kind, 'edit');
    assert.deepEqual(inside.paths, [join(workdir, 'src/ok.ts')]);
    assert.match(outside.reason, /\/tmp\/elsewhere\.txt/);
  });

  it('judges an execute call by its cwd, and approves only read-only kinds that name nothing', async () => {
    const r = await runScripted(
      workdir,
      script(
        { permission: { toolCall: { toolCallId: 'x1', kind: 'execute', rawInput: { command: 'make', cwd: workdir } } } },
        // no cwd: it runs in the session's cwd, the workdir (issue 14: was refused before)
        { permission: { toolCall: { toolCallId: 'x2', kind: 'execute', rawInput: { command: 'rm -rf build' } } } },
        { permission: { toolCall: { toolCallId: 'x3', kind: 'search', rawInput: { query: 'TODO' } } } },
        { permission: { toolCall: { toolCallId: 'x4', kind: 'fetch', rawInput: { url: 'https://example.com/' } } } },
        { permission: { toolCall: { toolCallId: 'x5', kind: 'execute' } } },
      ),
      workdirPolicy,
    );
    assert.equal(r.outputText, 'permission:selected:oncepermission:selected:oncepermission:selected:oncepermission:selected:nopermission:selected:no');
    assert.match(decisions(r.events)[1].reason, /runs in the session's cwd .* names nothing outside/);
    assert.match(decisions(r.events)[4].reason, /cannot tell where a "execute" call reaches/);
  });

  it('judges a command without a cwd as running in the workdir, refusing what its text reaches outside', async () => {
    const cases: [string, boolean, RegExp?][] = [
      ['echo hello > out.txt && cat out.txt | wc -l', true],
      ['cd src && ls ../ 2>/dev/null >&2', true],
      ['git status; npm test -- --grep x', true],
      ['cat /etc/passwd', false, /\/etc\/passwd/],
      ['ls ~/.ssh', false, /~\/\.ssh/],
      ['cd .. && ls', false, /cd \.\./],
      ['cd src && cat ../../secret', false, /\.\.\/\.\.\/secret/],
      ['echo pwned > /tmp/x', false, /\/tmp\/x/],
      ['cd /tmp', false, /cd \/tmp/],
      ['bash -lc "rm -rf $HOME/old"', false, /\$HOME\/old/],
      ['cat etc-link/hosts', false, /\/etc\/hosts/],
      [`echo ${'a '.repeat(5000)}`, false, /a command of 5001 words cannot be judged/],
    ];
    const r = await runScripted(
      workdir,
      script(...cases.map(([command], i) => ({ permission: { toolCall: { toolCallId: `c${i}`, kind: 'execute', rawInput: { command, description: 'x' } } } }))),
      workdirPolicy,
    );
    const ds = decisions(r.events);
    assert.equal(ds.length, cases.length);
    cases.forEach(([command, allowed, names], i) => {
      assert.equal(ds[i].decision, allowed ? 'allow' : 'reject', `${command}: ${ds[i].reason}`);
      if (names) assert.match(ds[i].reason, names, command);
      if (!allowed) assert.match(ds[i].reason, /^the command reaches outside the workdir: /);
    });
  });

  it("takes an execute call's title as its command when its input has none, and Gemini's stated directory as its cwd", async () => {
    const gemini = (id: string, title: string, cwd: string) => ({
      permission: {
        toolCall: {
          toolCallId: id,
          kind: 'execute',
          title,
          content: [{ type: 'content', content: { type: 'text', text: `[current working directory ${cwd}] (run it)` } }],
        },
      },
    });
    const r = await runScripted(
      workdir,
      script(gemini('g1', 'echo hi > copy.txt', workdir), gemini('g2', 'echo x > /tmp/gemini-out.txt', workdir), gemini('g3', 'ls', '/tmp')),
      workdirPolicy,
    );
    assert.equal(r.outputText, 'permission:selected:oncepermission:selected:nopermission:selected:no');
    const ds = decisions(r.events);
    assert.match(ds[1].reason, /\/tmp\/gemini-out\.txt/);
    assert.match(ds[2].reason, /outside the workdir: \/tmp/);
  });

  it('checks the command text of a call that gives its cwd too, and reads argv commands', async () => {
    const r = await runScripted(
      workdir,
      script(
        { permission: { toolCall: { toolCallId: 'a1', kind: 'execute', rawInput: { command: ['bash', '-lc', 'cat ../x'], workdir: join(workdir, 'src') } } } },
        {
          permission: { toolCall: { toolCallId: 'a2', kind: 'execute', rawInput: { command: ['bash', '-lc', 'cat ../../x'], workdir: join(workdir, 'src') } } },
        },
      ),
      workdirPolicy,
    );
    assert.equal(r.outputText, 'permission:selected:oncepermission:selected:no');
  });

  it('falls back to the other kind of each side, and to cancelled when no option fits', async () => {
    const allowAlways = [{ optionId: 'aa', name: 'Always', kind: 'allow_always' }];
    const rejectAlways = [
      { optionId: 'aa', name: 'Always', kind: 'allow_always' },
      { optionId: 'ra', name: 'Never', kind: 'reject_always' },
    ];
    const r = await runScripted(
      workdir,
      script(
        { permission: { toolCall: { toolCallId: 'k1', kind: 'read', locations: [{ path: workdir }] }, options: allowAlways } },
        { permission: { toolCall: { toolCallId: 'k2', kind: 'edit', locations: [{ path: '/etc/x' }] }, options: rejectAlways } },
        { permission: { toolCall: { toolCallId: 'k3', kind: 'edit', locations: [{ path: '/etc/x' }] }, options: allowAlways } },
      ),
      workdirPolicy,
    );
    assert.equal(r.outputText, 'permission:selected:aapermission:selected:rapermission:cancelled:');
  });
});

describe('DenyAll', () => {
  it('is the default and rejects even inside the workdir', async () => {
    const r = await runScripted(workdir, script({ permission: { toolCall: { toolCallId: 'd', kind: 'read', locations: [{ path: workdir }] } } }));
    assert.equal(r.outputText, 'permission:selected:no');
    assert.equal(decisions(r.events)[0].policy, 'deny');
  });

  it('can be given explicitly', async () => {
    const r = await runScripted(workdir, script({ permission: { toolCall: { toolCallId: 'd' } } }), { policy: new DenyAll() });
    assert.equal(r.outputText, 'permission:selected:no');
  });
});

describe('InteractivePolicy', () => {
  it('lets a person pick a named option, with everything known about the call', async () => {
    const seen: PermissionContext[] = [];
    const policy = new InteractivePolicy(async (ctx) => {
      seen.push(ctx);
      return { optionId: 'always', reason: 'the reviewer trusts it' };
    });
    const r = await runScripted(
      workdir,
      script(
        { tool: { toolCallId: 'i1', title: 'Format', kind: 'edit', locations: [{ path: join(workdir, 'src/a.ts') }] } },
        { permission: { toolCall: { toolCallId: 'i1' } } },
      ),
      { policy },
    );
    assert.equal(r.outputText, 'permission:selected:always');
    assert.equal(seen[0].toolCall.title, 'Format');
    assert.deepEqual(seen[0].paths, [join(workdir, 'src/a.ts')]);
    assert.equal(seen[0].options.length, 4);
    const [d] = decisions(r.events);
    assert.equal(d.reason, 'the reviewer trusts it');
    assert.equal(d.policy, 'ask');
  });

  it('rejects when nobody answers by the deadline', async () => {
    const policy = new InteractivePolicy(() => new Promise(() => {}), { deadlineMs: 1000 });
    const r = await runScripted(workdir, script({ permission: { toolCall: { toolCallId: 'slow' } } }), { policy });
    assert.equal(r.outputText, 'permission:selected:no');
    assert.match(decisions(r.events)[0].reason, /no answer within 1 s/);
  });

  it('answers cancelled when the turn is cancelled while a person decides', async () => {
    const controller = new AbortController();
    const policy = new InteractivePolicy(async () => {
      controller.abort();
      return new Promise(() => {});
    });
    const r = await runScripted(workdir, script({ permission: { toolCall: { toolCallId: 'c' } } }, { waitCancel: true }), {
      policy,
      signal: controller.signal,
    });
    assert.equal(r.stopReason, 'cancelled');
    assert.equal(r.outputText, 'permission:cancelled:');
    assert.equal(decisions(r.events)[0].decision, 'cancelled');
  });

  it('treats an option id that was not offered as a rejection', async () => {
    const policy = new InteractivePolicy(async () => ({ optionId: 'made-up', reason: 'typo' }));
    const r = await runScripted(workdir, script({ permission: { toolCall: { toolCallId: 't' } } }), { policy });
    assert.equal(r.outputText, 'permission:selected:no');
    assert.match(decisions(r.events)[0].reason, /"made-up" is not one of the offered options/);
  });
});
