'use strict';
// Live test of run_job.js and createClient against a server with mutual TLS and bearer tokens
// (node --test). Throwaway certificates come from tests/testing/make_test_certs.sh (openssl, at
// test time); the server binary from $SGDSPECTRA_SERVER_BINARY, on 127.0.0.1 port 0.

const assert = require('node:assert/strict');
const {execFileSync, spawn} = require('node:child_process');
const fs = require('node:fs');
const os = require('node:os');
const path = require('node:path');
const {after, before, test} = require('node:test');

const {createClient} = require('../sgdspectra');

const RUN_JOB = path.join(__dirname, '..', 'run_job.js');
const MAKE_CERTS = path.resolve(__dirname, '..', '..', '..', 'tests', 'testing',
                                'make_test_certs.sh');
const ALICE = 'alice-token-0123456789';
const BOB = 'bob-token-abcdefghijkl';

let workDir;
let pki;
let server;
let address;
let serverLog = '';

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// The TLS flags of a client holding the CA's client certificate.
const tlsFlags = () => ['--tls-ca', path.join(pki, 'ca.crt'), '--tls-cert',
                        path.join(pki, 'client.crt'), '--tls-key', path.join(pki, 'client.key')];

// Runs run_job.js with `env` added to this process's environment (minus any token of its own).
function runJob(args, env = {}) {
  return new Promise((resolve, reject) => {
    const childEnv = {...process.env, ...env};
    if (!('SGDSPECTRA_TOKEN' in env)) delete childEnv.SGDSPECTRA_TOKEN;
    const child = spawn(process.execPath, [RUN_JOB, ...args],
                        {stdio: ['ignore', 'pipe', 'pipe'], env: childEnv});
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (d) => (stdout += d));
    child.stderr.on('data', (d) => (stderr += d));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`run_job.js did not finish; stderr: ${stderr}`));
    }, 60000);
    child.on('close', (code) => {
      clearTimeout(timer);
      const events = stdout.split('\n').filter((l) => l.length > 0).map((l) => JSON.parse(l));
      resolve({code, stderr, events});
    });
  });
}

before(async () => {
  const binary = process.env.SGDSPECTRA_SERVER_BINARY;
  assert.ok(binary, 'set SGDSPECTRA_SERVER_BINARY to the sgdspectra-server binary');
  workDir = fs.mkdtempSync(path.join(os.tmpdir(), 'sgdspectra-node-tls-'));
  pki = path.join(workDir, 'pki');
  execFileSync('bash', [MAKE_CERTS, pki]);
  const tokens = path.join(workDir, 'tokens');
  fs.writeFileSync(tokens, `alice ${ALICE}\nbob ${BOB}\n`, {mode: 0o600});
  const portFile = path.join(workDir, 'port');
  server = spawn(binary, ['--listen', '127.0.0.1:0', '--port-file', portFile, '--data-dir',
                          path.join(workDir, 'data'), '--tls-cert', path.join(pki, 'server.crt'),
                          '--tls-key', path.join(pki, 'server.key'), '--tls-client-ca',
                          path.join(pki, 'ca.crt'), '--auth-tokens', tokens],
                 {stdio: ['ignore', 'pipe', 'pipe']});
  server.stdout.on('data', (d) => (serverLog += d));
  server.stderr.on('data', (d) => (serverLog += d));
  const deadline = Date.now() + 30000;
  while (Date.now() < deadline) {
    if (server.exitCode !== null) throw new Error(`server exited:\n${serverLog}`);
    const text = fs.existsSync(portFile) ? fs.readFileSync(portFile, 'utf8').trim() : '';
    if (text) {
      address = `127.0.0.1:${Number(text)}`;  // an IP SAN of the server certificate
      return;
    }
    await sleep(50);
  }
  throw new Error(`no port file:\n${serverLog}`);
});

after(async () => {
  if (server && server.exitCode === null) {
    const exited = new Promise((resolve) => server.once('exit', (code) => resolve(code)));
    server.kill('SIGTERM');
    assert.equal(await exited, 0, `server after SIGTERM; log:\n${serverLog}`);
  }
  if (workDir) fs.rmSync(workDir, {recursive: true, force: true});
});

test('a job runs over mutual TLS with the token from $SGDSPECTRA_TOKEN', async () => {
  const {code, stderr, events} = await runJob(['--server', address, ...tlsFlags()],
                                              {SGDSPECTRA_TOKEN: ALICE});
  assert.equal(code, 0, `exit code; stderr: ${stderr}`);
  assert.equal(events[events.length - 1].finished.state, 'SUCCEEDED');
});

test('--token-file; another principal cannot see the job', async () => {
  const tokenFile = path.join(workDir, 'bob.token');
  fs.writeFileSync(tokenFile, `${BOB}\n`, {mode: 0o600});
  const {code, stderr, events} = await runJob(['--server', address, '--token-file', tokenFile,
                                               '--no-progress', ...tlsFlags()]);
  assert.equal(code, 0, `exit code; stderr: ${stderr}`);
  const jobId = events[0].job_id;

  const {client, metadata} = createClient(address, {
    token: ALICE, tlsCa: path.join(pki, 'ca.crt'), tlsCert: path.join(pki, 'client.crt'),
    tlsKey: fs.readFileSync(path.join(pki, 'client.key')),
  });
  const error = await new Promise((resolve) => {
    client.GetJob({job_id: jobId}, metadata(), (err) => resolve(err));
  });
  client.close();
  assert.ok(error, 'alice must not see bob\'s job');
  assert.equal(error.code, 5 /* NOT_FOUND */);
  assert.equal(error.details, `job_id: no job ${jobId}`);
});

test('no token, a wrong token, no client certificate', async () => {
  let result = await runJob(['--server', address, ...tlsFlags()]);
  assert.equal(result.code, 4);
  assert.match(result.stderr, /UNAUTHENTICATED: missing bearer token/);
  result = await runJob(['--server', address, ...tlsFlags()],
                        {SGDSPECTRA_TOKEN: 'wrong-token-00000000'});
  assert.equal(result.code, 4);
  assert.match(result.stderr, /UNAUTHENTICATED: bearer token not recognised/);
  result = await runJob(['--server', address, '--tls-ca', path.join(pki, 'ca.crt')],
                        {SGDSPECTRA_TOKEN: ALICE});
  assert.equal(result.code, 4);
  assert.match(result.stderr, /UNAVAILABLE/);
});

test('a token is never sent in plaintext off the machine', async () => {
  assert.throws(() => createClient('192.0.2.123:50051', {token: ALICE}),
                /refusing to send the bearer token in plaintext/);
  const {code, stderr} = await runJob(['--server', '192.0.2.123:50051'],
                                      {SGDSPECTRA_TOKEN: ALICE});
  assert.equal(code, 2);
  assert.match(stderr, /refusing to send the bearer token in plaintext/);
  createClient('127.0.0.1:1', {token: ALICE}).client.close();  // loopback: the server decides
});
