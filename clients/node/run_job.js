#!/usr/bin/env node
'use strict';
// Runs one sgdspectra job (RunJob) and prints each JobEvent as one JSON line on stdout.
// Exit codes follow the `sgdspectra` CLI and, like it, Finished.reason: 0 the job SUCCEEDED
// (COMPLETED), 1 it FAILED by itself, 2 usage or spec error (nothing sent), 3 a user CANCELLED
// it, 4 RPC error ("error: <CODE>: <message>" on stderr, also when the stream ends without a
// `finished` event), 7 the server ended it (INTERRUPTED or SERVER_SHUTDOWN: submitting the same
// spec again is safe), 130 interrupted (the job goes on).

const fs = require('node:fs');
const {parseArgs} = require('node:util');
const {DEFAULT_PROTO_PATH, DEFAULT_SPEC, SpecError, createClient, normalizeSpec, statusName} =
    require('./sgdspectra');

const EXIT = {ok: 0, jobFailed: 1, usage: 2, jobCancelled: 3, rpcError: 4, endedByServer: 7,
              interrupted: 130};

// The exit code of a job's end, decided on Finished.reason (the state decides only for a server
// older than the field, which sends FINISH_REASON_UNSPECIFIED).
function exitCodeOf(finished) {
  switch (finished.reason) {
    case 'COMPLETED': return EXIT.ok;
    case 'CANCELLED_BY_USER': return EXIT.jobCancelled;
    case 'INTERRUPTED':
    case 'SERVER_SHUTDOWN': return EXIT.endedByServer;
    case 'FINISH_REASON_UNSPECIFIED':
      return finished.state === 'SUCCEEDED' ? EXIT.ok
          : finished.state === 'CANCELLED' ? EXIT.jobCancelled : EXIT.jobFailed;
    default: return EXIT.jobFailed;  // RUN_FAILED, STORE_ERROR, INTERNAL, newer values
  }
}

const USAGE = `usage: run_job.js [--server HOST:PORT] [--spec FILE] [--token-file FILE]
                  [--tls-ca FILE] [--tls-cert FILE --tls-key FILE] [--tls-server-name NAME]
                  [--no-progress]

  --server HOST:PORT  server address (default $SGDSPECTRA_SERVER or 127.0.0.1:50051)
  --spec FILE         job spec as JSON (proto3 JSON mapping: snake_case or camelCase keys);
                      "-" reads stdin; default a small built-in k-GMM job
  --token-file FILE   file holding the token sent as "authorization: Bearer TOKEN"
                      (default $SGDSPECTRA_TOKEN_FILE, else the token in $SGDSPECTRA_TOKEN)
  --tls-ca FILE       use TLS; trust the CA(s) in this PEM file (default $SGDSPECTRA_TLS_CA)
  --tls-cert FILE     client certificate for mutual TLS, with --tls-key
                      (default $SGDSPECTRA_TLS_CERT, $SGDSPECTRA_TLS_KEY)
  --tls-server-name NAME  the name the server certificate carries, if --server says otherwise
  --proto FILE        jobs.proto to load (default ${DEFAULT_PROTO_PATH})
  --no-progress       do not print progress events
Exit: 0 SUCCEEDED, 1 FAILED, 2 usage/spec error, 3 CANCELLED by a user, 4 RPC error,
      7 ended by the server (restart or drain; submit again), 130 interrupted.
`;

function usageError(message, showUsage = true) {
  process.stderr.write(`error: ${message}\n${showUsage ? USAGE : ''}`);
  process.exitCode = EXIT.usage;
}

function readSpec(file) {
  if (!file) return DEFAULT_SPEC;
  const text = fs.readFileSync(file === '-' ? 0 : file, 'utf8');
  try {
    return JSON.parse(text);
  } catch (e) {
    throw new SpecError(`${file}: not JSON: ${e.message}`);
  }
}

// Synthetic oneof markers of proto3 `optional` fields (e.g. `_t_end: 't_end'`) carry nothing
// the field itself does not; drop them from the printed JSON.
function withoutSyntheticOneofs(key, value) {
  return key.startsWith('_') ? undefined : value;
}

function main() {
  let args;
  try {
    args = parseArgs({
      options: {
        server: {type: 'string', default: process.env.SGDSPECTRA_SERVER || '127.0.0.1:50051'},
        spec: {type: 'string'},
        'token-file': {type: 'string', default: process.env.SGDSPECTRA_TOKEN_FILE || ''},
        'tls-ca': {type: 'string', default: process.env.SGDSPECTRA_TLS_CA || ''},
        'tls-cert': {type: 'string', default: process.env.SGDSPECTRA_TLS_CERT || ''},
        'tls-key': {type: 'string', default: process.env.SGDSPECTRA_TLS_KEY || ''},
        'tls-server-name': {type: 'string',
                            default: process.env.SGDSPECTRA_TLS_SERVER_NAME || ''},
        proto: {type: 'string', default: DEFAULT_PROTO_PATH},
        'no-progress': {type: 'boolean', default: false},
        help: {type: 'boolean', short: 'h', default: false},
      },
    }).values;
  } catch (e) {
    return usageError(e.message);
  }
  if (args.help) {
    process.stdout.write(USAGE);
    return;
  }

  let connection;
  try {
    const token = args['token-file']
        ? fs.readFileSync(args['token-file'], 'utf8').trim()
        : process.env.SGDSPECTRA_TOKEN || null;
    connection = createClient(args.server, {
      token, protoPath: args.proto, tlsCa: args['tls-ca'] || null,
      tlsCert: args['tls-cert'] || null, tlsKey: args['tls-key'] || null,
      tlsServerName: args['tls-server-name'] || null,
    });
  } catch (e) {
    return usageError(e.message, false);
  }
  const {client, packageDefinition, metadata} = connection;
  let spec;
  try {
    spec = normalizeSpec(packageDefinition, readSpec(args.spec));
  } catch (e) {
    client.close();
    if (e instanceof SpecError || e.code === 'ENOENT') return usageError(e.message, false);
    throw e;
  }

  let finished = null;
  let rpcError = null;
  let interrupted = false;
  let jobId = '';
  const call = client.RunJob({spec}, metadata());

  let done = false;
  const finish = () => {
    if (done) return;  // grpc-js may emit 'end' after 'error'
    done = true;
    client.close();
    if (interrupted) {
      process.stderr.write(`interrupted: job ${jobId || '(not yet accepted)'} goes on on the server\n`);
      process.exitCode = EXIT.interrupted;
    } else if (rpcError) {
      process.stderr.write(`error: ${statusName(rpcError.code)}: ${rpcError.details}\n`);
      process.exitCode = EXIT.rpcError;
    } else if (finished === null) {
      process.stderr.write('error: INTERNAL: the stream ended without a finished event\n');
      process.exitCode = EXIT.rpcError;
    } else {
      process.exitCode = exitCodeOf(finished);
    }
  };

  call.on('data', (event) => {
    jobId = event.job_id;
    if (event.kind === 'finished') {
      finished = event.finished;
      if (finished.state !== 'SUCCEEDED') {
        process.stderr.write(`job ${jobId} ${finished.state} (${finished.reason})` +
                             (finished.error_message ? `: ${finished.error_message}` : '') + '\n');
      }
    }
    if (event.kind === 'progress' && args['no-progress']) return;
    process.stdout.write(JSON.stringify(event, withoutSyntheticOneofs) + '\n');
  });
  // A failed call emits 'error', a successful one 'end': the first of them ends the run.
  call.on('error', (error) => {
    if (!(interrupted && error.code === 1 /* CANCELLED */)) rpcError = error;
    finish();
  });
  call.on('end', finish);

  process.once('SIGINT', () => {
    interrupted = true;
    call.cancel();
  });
}

main();
