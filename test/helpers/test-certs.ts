import { execFileSync } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';

/** A CA and a server certificate for 127.0.0.1 / localhost, made with openssl for one test. */
export interface TestCerts {
  /** The CA certificate (what a client trusts). */
  ca: string;
  /** The server's certificate (PEM). */
  cert: string;
  /** The server's private key, unencrypted PKCS#8 PEM. */
  key: string;
  /** Key then certificate in one PEM file (Kafka's PEM key store). */
  keyAndCert: string;
  /** A second CA that signed nothing here: a client trusting it must refuse the server. */
  otherCa: string;
}

/** Makes the certificates in `dir` (openssl must be on PATH; it is on Debian and on CI images). */
export function makeTestCerts(dir: string): TestCerts {
  const run = (...args: string[]) => execFileSync('openssl', args, { cwd: dir, stdio: ['ignore', 'ignore', 'pipe'] });
  const p = (f: string) => join(dir, f);
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '2', '-subj', '/CN=vigil-test-ca');
  run('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('other-ca.key'), '-out', p('other-ca.pem'), '-days', '2', '-subj', '/CN=vigil-other-ca');
  run('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', p('server.key'), '-out', p('server.csr'), '-subj', '/CN=127.0.0.1');
  writeFileSync(p('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\nkeyUsage=digitalSignature,keyEncipherment\nextendedKeyUsage=serverAuth\n');
  run('x509', '-req', '-in', p('server.csr'), '-CA', p('ca.pem'), '-CAkey', p('ca.key'), '-CAcreateserial', '-out', p('server.pem'), '-days', '2', '-extfile', p('ext.cnf'));
  run('pkcs8', '-topk8', '-nocrypt', '-in', p('server.key'), '-out', p('server.pk8.pem'));
  execFileSync('sh', ['-c', 'cat server.pk8.pem server.pem > server-keystore.pem'], { cwd: dir });
  return { ca: p('ca.pem'), cert: p('server.pem'), key: p('server.pk8.pem'), keyAndCert: p('server-keystore.pem'), otherCa: p('other-ca.pem') };
}
