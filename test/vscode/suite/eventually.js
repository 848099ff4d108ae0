// Waits inside the extension host (CommonJS, as VS Code loads test suites) until `check` returns a truthy
// value, polling every `pollMs`; fails naming `what` after `timeoutMs`. Shared by the suites and benches
// that run in a real VS Code.
exports.eventually = async function eventually(check, what, timeoutMs = 30000, pollMs = 100) {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const v = await check();
    if (v) return v;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, pollMs));
  }
};
