// `npm start`: bootstrap (first start only: seed the event store, train and publish a model), then the API (embedded
// DuckDB under .data/) and the demo (Vite dev server), on localhost.
import { spawn } from 'node:child_process';

// The bootstrap returns at once when DATA_DIR/models has a live model; otherwise it prints its steps and the trainer's
// progress. If it fails the API and demo still start, without a model.
{
  const started = Date.now();
  const boot = spawn(process.execPath, ['--import', 'tsx', 'server/src/cli/bootstrap.ts'], { stdio: 'inherit' });
  const onSignal = (sig) => boot.kill(sig);
  process.on('SIGINT', onSignal);
  process.on('SIGTERM', onSignal);
  const { code, signal } = await new Promise((resolve) => boot.on('exit', (code, signal) => resolve({ code, signal })));
  process.off('SIGINT', onSignal);
  process.off('SIGTERM', onSignal);
  if (signal) process.exit(130);
  if (code !== 0) console.error(`bootstrap failed (exit ${code}); starting the API without a new model`);
  else if (Date.now() - started > 5000) console.log(`bootstrap done in ${((Date.now() - started) / 1000).toFixed(0)}s`);
}

const children = [];
function run(name, cmd, args, env = {}) {
  const child = spawn(cmd, args, { stdio: 'inherit', env: { ...process.env, ...env } });
  child.on('exit', (code) => {
    console.log(`${name} exited (${code}); stopping`);
    stop(code ?? 1);
  });
  children.push(child);
}
function stop(code = 0) {
  for (const c of children) if (c.exitCode === null) c.kill('SIGTERM');
  setTimeout(() => process.exit(code), 500);
}
process.on('SIGINT', () => stop(0));
process.on('SIGTERM', () => stop(0));

const apiPort = process.env.PORT ?? '8787';
run('api', process.execPath, ['--import', 'tsx', 'server/src/serve.ts'], { PORT: apiPort });
run('demo', process.execPath, ['node_modules/vite/bin/vite.js', '--config', 'demo/vite.config.ts', '--logLevel', 'warn'], {
  MARQUEE_API: `http://127.0.0.1:${apiPort}`,
});
setTimeout(() => console.log('\n  Marquee demo: http://127.0.0.1:5173  (API on http://127.0.0.1:' + apiPort + ')\n'), 1500);
