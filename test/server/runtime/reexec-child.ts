// A stand-in for `crowdcrawl hub` in test/server/runtime/reexec.test.ts: it
// re-executes itself as the CLI does, then says what it runs with and behaves
// as its first argument asks: exit with a code, or wait for a signal.
import { reexecWithSettings } from '../../../server/runtime/reexec.ts';

// Every start prints a line: a loop would print more than two.
console.log(`START ${process.pid}`);
reexecWithSettings({ env: { MALLOC_ARENA_MAX: '2' }, nodeFlags: { 'max-semi-space-size': '3' } });
const [mode, value] = process.argv.slice(2);
// The handler first: the test sends its signal as soon as it reads the RUN line.
if (mode === 'exit') process.exitCode = Number(value);
else if (mode === 'wait') {
  process.on('SIGTERM', () => {
    console.log('GOT SIGTERM');
    process.exit(Number(value));
  });
  setInterval(() => {}, 1000);
}
console.log(`RUN ${JSON.stringify({ pid: process.pid, arena: process.env.MALLOC_ARENA_MAX ?? null, mark: process.env.CROWDCRAWL_REEXECED ?? null, execArgv: process.execArgv, args: process.argv.slice(2) })}`);
