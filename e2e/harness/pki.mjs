// Test PKI for the local kube-apiserver, made with the openssl CLI so that no key material is
// checked into the repository and every run gets fresh keys.
import { execFile } from 'node:child_process';
import { chmod, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';

const execFileAsync = promisify(execFile);
const OPENSSL = process.env.OPENSSL ?? '/usr/bin/openssl';

/**
 * @typedef {object} Pki
 * @property {string} caCert path of the CA certificate (PEM)
 * @property {string} caPem the CA certificate itself
 * @property {string} serverCert path of the kube-apiserver serving certificate
 * @property {string} serverKey
 * @property {string} adminCert path of the admin client certificate (O=system:masters)
 * @property {string} adminKey
 * @property {string} saKey path of the RSA service-account signing key
 * @property {string} saPub path of its public key
 */

/**
 * Runs openssl and turns a failure into an error that shows the arguments and openssl's stderr.
 * @param {string[]} args
 * @param {string} cwd
 */
async function openssl(args, cwd) {
  try {
    await execFileAsync(OPENSSL, args, { cwd });
  } catch (error) {
    const err = /** @type {Error & { stderr?: string }} */ (error);
    throw new Error(
      `openssl ${args.join(' ')} failed in ${cwd}: ${(err.stderr ?? err.message).trim()}. ` +
        `Check that ${OPENSSL} is OpenSSL 3.0 or later (it needs 'req -x509 -CA').`,
    );
  }
}

/**
 * Writes an openssl config with a fixed subject and one extension section named `ext`.
 * `openssl req` reads extensions only from `-config FILE -extensions NAME`.
 * @param {string} path
 * @param {string[]} subject lines of the [dn] section, for example `CN = e2e-admin`
 * @param {string[]} extensions lines of the [ext] section
 */
async function writeReqConfig(path, subject, extensions) {
  const text = [
    '[req]',
    'prompt = no',
    'distinguished_name = dn',
    '',
    '[dn]',
    ...subject,
    '',
    '[ext]',
    ...extensions,
    '',
  ].join('\n');
  await writeFile(path, text);
}

/** @param {string} dir @param {string} name */
async function generateEcKey(dir, name) {
  await openssl(['genpkey', '-algorithm', 'EC', '-pkeyopt', 'ec_paramgen_curve:P-256', '-out', name], dir);
  await chmod(join(dir, name), 0o600);
}

/**
 * Issues a certificate signed by the CA in `dir` for a new P-256 key.
 * @param {string} dir
 * @param {string} name file stem: NAME.key, NAME.crt, NAME.cnf
 * @param {string[]} subject
 * @param {string[]} extensions
 */
async function issueCert(dir, name, subject, extensions) {
  await generateEcKey(dir, `${name}.key`);
  await writeReqConfig(join(dir, `${name}.cnf`), subject, extensions);
  await openssl(
    [
      'req', '-new', '-x509', '-sha256', '-days', '30',
      '-key', `${name}.key`, '-CA', 'ca.crt', '-CAkey', 'ca.key',
      '-config', `${name}.cnf`, '-extensions', 'ext',
      '-out', `${name}.crt`,
    ],
    dir,
  );
}

/**
 * Creates the CA, the kube-apiserver serving certificate, the admin client certificate and the
 * service-account signing key pair in `dir`.
 * @param {string} dir an existing, empty directory
 * @returns {Promise<Pki>}
 */
export async function createPki(dir) {
  await generateEcKey(dir, 'ca.key');
  await writeReqConfig(join(dir, 'ca.cnf'), ['CN = vault-selfcheck e2e CA'], [
    'basicConstraints = critical, CA:TRUE',
    'keyUsage = critical, keyCertSign, cRLSign',
    'subjectKeyIdentifier = hash',
  ]);
  await openssl(
    ['req', '-new', '-x509', '-sha256', '-days', '30', '-key', 'ca.key', '-config', 'ca.cnf', '-extensions', 'ext', '-out', 'ca.crt'],
    dir,
  );

  await issueCert(dir, 'kube-apiserver', ['CN = kube-apiserver'], [
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature',
    'extendedKeyUsage = serverAuth',
    'subjectAltName = IP:127.0.0.1, DNS:localhost',
    'authorityKeyIdentifier = keyid',
  ]);

  // The kube-apiserver maps O to groups and CN to the user name of a client certificate.
  await issueCert(dir, 'admin', ['O = system:masters', 'CN = e2e-admin'], [
    'basicConstraints = critical, CA:FALSE',
    'keyUsage = critical, digitalSignature',
    'extendedKeyUsage = clientAuth',
    'authorityKeyIdentifier = keyid',
  ]);

  await openssl(['genpkey', '-algorithm', 'RSA', '-pkeyopt', 'rsa_keygen_bits:2048', '-out', 'sa.key'], dir);
  await chmod(join(dir, 'sa.key'), 0o600);
  await openssl(['pkey', '-in', 'sa.key', '-pubout', '-out', 'sa.pub'], dir);

  return {
    caCert: join(dir, 'ca.crt'),
    caPem: await readFile(join(dir, 'ca.crt'), 'utf8'),
    serverCert: join(dir, 'kube-apiserver.crt'),
    serverKey: join(dir, 'kube-apiserver.key'),
    adminCert: join(dir, 'admin.crt'),
    adminKey: join(dir, 'admin.key'),
    saKey: join(dir, 'sa.key'),
    saPub: join(dir, 'sa.pub'),
  };
}
