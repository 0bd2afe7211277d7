// Command-mode test program: leaks 7 AsyncResources ("test_cmd_leak"), closes
// 3 others ("test_cmd_ok"), starts one child node process (which inherits
// NODE_OPTIONS and so the agent), asks for a SIGUSR2 snapshot of itself, and
// exits with code 0 after printing a line.
import { AsyncResource } from 'node:async_hooks';
import { execFileSync } from 'node:child_process';

const kept = [];
for (let i = 0; i < 7; i++) kept.push(new AsyncResource('test_cmd_leak', { requireManualDestroy: true }));
for (let i = 0; i < 3; i++) new AsyncResource('test_cmd_ok', { requireManualDestroy: true }).emitDestroy();

const childOutput = execFileSync(process.execPath, ['-e', 'console.log("child says hi")'], { encoding: 'utf8' });
process.stdout.write(`app: ${kept.length} kept; ${childOutput}`);

// The agent takes a snapshot on SIGUSR2 (command capture mode only); give it time.
process.kill(process.pid, 'SIGUSR2');
setTimeout(() => {}, 300);
