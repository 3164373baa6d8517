'use strict';
// A small Node.js binding of the sgdspectra.v1.SgdSpectra service, built from the .proto at run
// time with @grpc/proto-loader (no generated code).
//
// Message objects use the .proto's field names (keepCase), 64-bit integers as strings, enums by
// name, defaults filled in, and each oneof's chosen member named by a virtual field (a JobEvent
// has `kind: 'snapshot'`, etc.).

const fs = require('node:fs');
const net = require('node:net');
const path = require('node:path');
const grpc = require('@grpc/grpc-js');
const protoLoader = require('@grpc/proto-loader');

const PACKAGE = 'sgdspectra.v1';
const DEFAULT_PROTO_PATH = path.resolve(__dirname, '..', '..', 'proto', 'sgdspectra', 'v1',
                                        'jobs.proto');
const LOADER_OPTIONS = {keepCase: true, longs: String, enums: String, defaults: true, oneofs: true};

// A small k-GMM job (d = 60, k = 3, 180 SGD steps, 4 snapshots): a few seconds on one core.
const DEFAULT_SPEC = Object.freeze({
  name: 'node-example',
  seed: '1',
  kgmm: {dim: 60, num_classes: 3, snr: 50},
  sgd: {t_end: 3},
  schedule: {kind: 'EVERY_STEPS', every_steps: 60},
  analysis: {test_ratio: 2},
});

// The gRPC status code name of a numeric code (14 -> 'UNAVAILABLE').
function statusName(code) {
  const name = Object.keys(grpc.status).find((key) => grpc.status[key] === code);
  return name || `UNKNOWN(${code})`;
}

// Loads the .proto. Returns {packageDefinition, SgdSpectra (client constructor)}.
function load(protoPath = DEFAULT_PROTO_PATH) {
  const packageDefinition = protoLoader.loadSync(protoPath, LOADER_OPTIONS);
  const loaded = grpc.loadPackageDefinition(packageDefinition);
  return {packageDefinition, SgdSpectra: loaded.sgdspectra.v1.SgdSpectra};
}

// Thrown by normalizeSpec for a spec that does not match the .proto.
class SpecError extends Error {}

function camelCase(name) {
  return name.replace(/_([a-z0-9])/g, (_, c) => c.toUpperCase());
}

// The descriptor (DescriptorProto or EnumDescriptorProto, as JSON) of a field's type. proto-loader
// gives type names as written in the .proto: nested in the message (Schedule.Kind), or in the
// package.
function fieldType(packageDefinition, parent, typeName) {
  const name = typeName.replace(/^\./, '');
  const nested = () => [...(parent.nestedType || []), ...(parent.enumType || [])]
                              .find((t) => t.name === name);
  const found = nested() || packageDefinition[`${PACKAGE}.${name}`] || packageDefinition[name];
  if (!found) throw new Error(`jobs.proto: cannot resolve type ${typeName}`);
  return found.type || found;
}

// Checks a spec object (as parsed from JSON, proto3 JSON mapping: snake_case or lowerCamelCase
// keys, enums by name, 64-bit integers as numbers or strings) against JobSpec and returns a copy
// with the .proto's snake_case names, which is what the loaded service serializes. Unknown keys
// and enum names throw SpecError (protobufjs would silently drop them).
function normalizeSpec(packageDefinition, spec, descriptor = null, where = 'spec') {
  descriptor = descriptor || packageDefinition[`${PACKAGE}.JobSpec`].type;
  if (spec === null || typeof spec !== 'object' || Array.isArray(spec)) {
    throw new SpecError(`${where}: must be an object`);
  }
  const out = {};
  for (const [key, value] of Object.entries(spec)) {
    const field = descriptor.field.find((f) => f.name === key || camelCase(f.name) === key);
    if (!field) {
      const known = descriptor.field.map((f) => f.name).join(', ');
      throw new SpecError(`${where}.${key}: unknown field (fields: ${known})`);
    }
    const fieldPath = `${where}.${field.name}`;
    const repeated = field.label === 'LABEL_REPEATED';
    if (repeated && !Array.isArray(value)) throw new SpecError(`${fieldPath}: must be a list`);
    const convert = (item, itemPath) => {
      if (field.type === 'TYPE_MESSAGE') {
        const type = fieldType(packageDefinition, descriptor, field.typeName);
        return normalizeSpec(packageDefinition, item, type, itemPath);
      }
      if (field.type === 'TYPE_ENUM' && typeof item === 'string') {
        const values = fieldType(packageDefinition, descriptor, field.typeName).value;
        if (!values.some((v) => v.name === item)) {
          const names = values.map((v) => v.name).join(', ');
          throw new SpecError(`${itemPath}: unknown value "${item}" (one of ${names})`);
        }
      }
      return item;
    };
    out[field.name] = repeated ? value.map((item, i) => convert(item, `${fieldPath}[${i}]`))
                               : convert(value, fieldPath);
  }
  return out;
}

// Whether a 'host:port' (or '[v6]:port') names this machine: a token may go there in plaintext.
function isLoopback(address) {
  const host = address.replace(/:\d+$/, '').replace(/^\[(.*)\]$/, '$1');
  if (host === 'localhost') return true;
  if (net.isIPv4(host)) return host.startsWith('127.');
  return net.isIPv6(host) && (host === '::1' || /^::ffff:127\./i.test(host));
}

// PEM contents from a Buffer (the PEM itself) or a file name.
function pem(value) {
  if (value === null || value === undefined) return null;
  return Buffer.isBuffer(value) ? value : fs.readFileSync(value);
}

// A client of the service at `address` ('host:port'). With a token, every call carries
// `authorization: Bearer <token>` metadata (the default token is $SGDSPECTRA_TOKEN; pass '' for
// none). TLS: tlsCa (the CA that signed the server certificate; gRPC's default roots with
// tls: true), tlsCert + tlsKey (this client's certificate, for mutual TLS), each a file name or
// a Buffer of PEM; tlsServerName (the name the server certificate carries, when `address` names
// it otherwise). Without TLS a token is only sent to a loopback address: anything else throws,
// since the token would cross the network in the clear.
function createClient(address, {token = process.env.SGDSPECTRA_TOKEN || null,
                                protoPath = DEFAULT_PROTO_PATH, tls = false, tlsCa = null,
                                tlsCert = null, tlsKey = null, tlsServerName = null} = {}) {
  if (!tlsCert !== !tlsKey) throw new Error('tlsCert and tlsKey go together');
  const secure = tls || Boolean(tlsCa) || Boolean(tlsCert);
  if (token && !secure && !isLoopback(address)) {
    throw new Error(`refusing to send the bearer token in plaintext to ${address}, which is ` +
                    'not a loopback address: use TLS (tlsCa or tls: true)');
  }
  if (tlsServerName && !secure) throw new Error('tlsServerName needs TLS (tlsCa or tls: true)');
  const credentials = secure
      ? grpc.credentials.createSsl(pem(tlsCa), pem(tlsKey), pem(tlsCert))
      : grpc.credentials.createInsecure();
  const options = {'grpc.max_receive_message_length': 1 << 30};
  if (tlsServerName) options['grpc.ssl_target_name_override'] = tlsServerName;
  const {packageDefinition, SgdSpectra} = load(protoPath);
  const client = new SgdSpectra(address, credentials, options);
  const metadata = () => {
    const m = new grpc.Metadata();
    if (token) m.set('authorization', `Bearer ${token}`);
    return m;
  };
  return {client, packageDefinition, metadata};
}

module.exports = {
  DEFAULT_PROTO_PATH,
  DEFAULT_SPEC,
  LOADER_OPTIONS,
  SpecError,
  createClient,
  load,
  normalizeSpec,
  statusName,
};
