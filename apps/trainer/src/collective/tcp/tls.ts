import { readFileSync } from 'node:fs';
import type { ConnectionOptions, TlsOptions } from 'node:tls';

/**
 * TLS for the data plane on untrusted networks, from PEM files (DATA_TLS_CERT, DATA_TLS_KEY,
 * DATA_TLS_CA). Every trainer presents its certificate both ways: with a CA, a listener
 * accepts only peers whose certificate that CA signed, and a dialer checks that the peer's
 * certificate names the address it advertised. The attempt's secret still applies inside.
 */
export function dataPlaneTls(files: { cert: string; key: string; ca?: string }): {
  server: TlsOptions;
  client: ConnectionOptions;
} {
  const cert = readFileSync(files.cert);
  const key = readFileSync(files.key);
  const ca = files.ca ? readFileSync(files.ca) : undefined;
  return {
    server: { cert, key, ...(ca ? { ca, requestCert: true, rejectUnauthorized: true } : {}) },
    client: { cert, key, ...(ca ? { ca } : {}) },
  };
}
