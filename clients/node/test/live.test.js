'use strict';
// Live test of run_job.js against a real sgdspectra-server (node --test).
// The server binary comes from $SGDSPECTRA_SERVER_BINARY; it is started on 127.0.0.1 port 0 with
// a temporary data dir and stopped with SIGTERM (it must exit 0).

const assert = require('node:assert/strict');
const {spawn} = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {after, before, test} = require('node:test');

const {load, normalizeSpec} = require('../sgdspectra');

const RUN_JOB = path.join(__dirname, '..', 'run_job.js');
const SERVER_START_MS = 30000;
const SERVER_STOP_MS = 30000;

let workDir;
let server;
let address;
let serverLog = '';

function sleep(ms) {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

// Runs run_job.js to completion: {code, stdout, stderr, events (parsed stdout lines)}.
function runJob(args, timeoutMs = 60000) {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [RUN_JOB, ...args], {stdio: ['ignore', 'pipe', 'pipe']});
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`run_job.js did not finish in ${timeoutMs} ms; stderr: ${stderr}`));
    }, timeoutMs);
    child.on('error', reject);
    child.on('close', (code) => {
      clearTimeout(timer);
      const events = stdout.split('\n').filter((line) => line.length > 0)
                         .map((line) => JSON.parse(line));
      resolve({code, stdout, stderr, events});
    });
  });
}

before(async () => {
  const binary = process.env.SGDSPECTRA_SERVER_BINARY;
  assert.ok(binary, 'set SGDSPECTRA_SERVER_BINARY to the sgdspectra-server binary');
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sgdspectra-node-test-'));
  const portFile = path.join(workDir, 'port');
  server = spawn(binary, ['--listen', '127.0.0.1:0', '--port-file', portFile,
                          '--data-dir', path.join(workDir, 'data'), '--workers', '2',
                          '--threads', '1'],
                 {stdio: ['ignore', 'pipe', 'pipe']});
  server.stdout.on('data', (d) => (serverLog += d));
  server.stderr.on('data', (d) => (serverLog += d));
  const deadline = Date.now() + SERVER_START_MS;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) {
      throw new Error(`server exited with ${server.exitCode} before serving:\n${serverLog}`);
    }
    if (fs.existsSync(portFile)) {
      const text = fs.readFileSync(portFile, 'utf8').trim();
      if (text) {
        address = `127.0.0.1:${Number(text)}`;
        return;
      }
    }
    await sleep(50);
  }
  server.kill('SIGKILL');
  throw new Error(`no port file within ${SERVER_START_MS} ms:\n${serverLog}`);
});

after(async () => {
  if (server && server.exitCode === null && server.signalCode === null) {
    const exited = new Promise((resolve) => server.once('exit', (code, sig) => resolve({code, sig})));
    server.kill('SIGTERM');
    let timer;
    const timeout = new Promise((resolve) => (timer = setTimeout(resolve, SERVER_STOP_MS, null)));
    const status = await Promise.race([exited, timeout]);
    clearTimeout(timer);
    if (status === null) server.kill('SIGKILL');
    if (workDir) fs.rmSync(workDir, {recursive: true, force: true});
    assert.deepEqual(status, {code: 0, sig: null}, `server after SIGTERM; log:\n${serverLog}`);
  } else if (workDir) {
    fs.rmSync(workDir, {recursive: true, force: true});
  }
});

test('the built-in k-GMM job succeeds and streams seq 1..n from accepted to finished', async () => {
  const {code, stderr, events} = await runJob(['--server', address]);
  assert.equal(code, 0, `exit code; stderr: ${stderr}`);
  assert.ok(events.length >= 6, `${events.length} events`);
  assert.deepEqual(events.map((e) => Number(e.seq)), events.map((_, i) => i + 1));
  assert.equal(events[0].kind, 'accepted');
  const last = events[events.length - 1];
  assert.equal(last.kind, 'finished');
  assert.equal(last.finished.state, 'SUCCEEDED');
  assert.equal(last.finished.reason, 'COMPLETED');  // the enum passes through by name
  assert.equal(new Set(events.map((e) => e.job_id)).size, 1);
  assert.equal(events.filter((e) => e.kind === 'finished').length, 1);

  const accepted = events[0].accepted;
  assert.deepEqual(accepted.snapshot_steps, ['0', '60', '120', '180']);  // int64 as strings
  assert.equal(accepted.cost_estimate.snapshots, 4);  // the server's cost estimate passes through
  assert.ok(accepted.cost_estimate.total_flops > 0);
  const snapshots = events.filter((e) => e.kind === 'snapshot').map((e) => e.snapshot);
  assert.deepEqual(snapshots.map((s) => s.step), accepted.snapshot_steps);
  for (const snapshot of snapshots) {
    const classBlocks = snapshot.spectra.filter((s) => s.block === 'CLASS_BLOCK');
    assert.equal(classBlocks.length, 6);  // Hessian and G for each of 3 classes
    for (const s of classBlocks) assert.ok(s.top_eigenvalues.length > 0);
  }
});

test('a spec file in camelCase JSON is accepted; progress can be hidden', async () => {
  const specFile = path.join(workDir, 'spec.json');
  fs.writeFileSync(specFile, JSON.stringify({
    seed: 3, kgmm: {dim: 40, numClasses: 2, snr: 40}, sgd: {tEnd: 1},
    schedule: {kind: 'EVERY_STEPS', everySteps: 20}, analysis: {testRatio: 2},
  }));
  const {code, stderr, events} = await runJob(['--server', address, '--spec', specFile,
                                               '--no-progress']);
  assert.equal(code, 0, `exit code; stderr: ${stderr}`);
  assert.equal(events[0].accepted.resolved_spec.kgmm.dim, '40');
  assert.equal(events[0].accepted.resolved_spec.kgmm.num_classes, 2);
  assert.ok(!events.some((e) => e.kind === 'progress'));
  assert.equal(events[events.length - 1].finished.state, 'SUCCEEDED');
});

test('an invalid spec exits non-zero with INVALID_ARGUMENT naming the field', async () => {
  const specFile = path.join(workDir, 'bad.json');
  fs.writeFileSync(specFile, JSON.stringify({kgmm: {dim: 1}}));
  const {code, stderr, events} = await runJob(['--server', address, '--spec', specFile]);
  assert.equal(code, 4);
  assert.match(stderr, /^error: INVALID_ARGUMENT: .*kgmm\.dim/m);
  assert.equal(events.length, 0);
});

test('an unknown spec field is refused before sending (exit 2)', async () => {
  const specFile = path.join(workDir, 'typo.json');
  fs.writeFileSync(specFile, JSON.stringify({kgmm: {dimension: 60}}));
  const {code, stderr} = await runJob(['--server', address, '--spec', specFile]);
  assert.equal(code, 2);
  assert.match(stderr, /spec\.kgmm\.dimension: unknown field/);
});

test('normalizeSpec maps camelCase keys and checks enums', () => {
  const {packageDefinition} = load();
  assert.deepEqual(
      normalizeSpec(packageDefinition,
                    {kgmm: {numClasses: 3, classProbs: [0.5, 0.25, 0.25]},
                     schedule: {kind: 'LOG_SPACED_TIME', numPoints: 5}}),
      {kgmm: {num_classes: 3, class_probs: [0.5, 0.25, 0.25]},
       schedule: {kind: 'LOG_SPACED_TIME', num_points: 5}});
  assert.throws(() => normalizeSpec(packageDefinition, {schedule: {kind: 'DAILY'}}),
                /spec\.schedule\.kind: unknown value "DAILY"/);
  assert.throws(() => normalizeSpec(packageDefinition, {kgmm: {class_probs: 0.5}}),
                /spec\.kgmm\.class_probs: must be a list/);
});
