import { execFileSync } from "node:child_process";
import { readFileSync, writeFileSync } from "node:fs";
import path from "node:path";

/** A throwaway certificate authority made by the openssl CLI, in a folder the caller owns and removes. */
export interface TestCa {
  dir: string;
  /** PEM file of the CA certificate. */
  caFile: string;
  ca: string;
  /** Issues a leaf certificate (ECDSA P-256) for DNS names and IP addresses; returns its files. */
  issue(
    name: string,
    subjectAltNames: string[],
    days?: number,
  ): { certFile: string; keyFile: string; serial: string };
}

const EC = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"];

const openssl = (...args: string[]) =>
  execFileSync("openssl", args, { stdio: ["ignore", "pipe", "pipe"] }).toString();

export function makeTestCa(dir: string): TestCa {
  const file = (name: string) => path.join(dir, name);
  openssl(
    "req",
    "-x509",
    ...EC,
    "-keyout",
    file("ca.key"),
    "-out",
    file("ca.pem"),
    "-days",
    "30",
    "-subj",
    "/O=Throwaway Test CA",
  );
  return {
    dir,
    caFile: file("ca.pem"),
    ca: readFileSync(file("ca.pem"), "utf8"),
    issue(name, subjectAltNames, days = 20) {
      const [key, csr, ext, cert] = ["key", "csr", "ext", "pem"].map((suffix) => file(`${name}.${suffix}`));
      openssl("req", ...EC, "-keyout", key!, "-out", csr!, "-subj", `/CN=${name}`);
      writeFileSync(ext!, `subjectAltName=${subjectAltNames.join(",")}\n`);
      openssl(
        ..."x509 -req -CAcreateserial".split(" "),
        ...["-in", csr!, "-CA", file("ca.pem"), "-CAkey", file("ca.key")],
        ...["-days", String(days), "-extfile", ext!, "-out", cert!],
      );
      const serial = openssl("x509", "-noout", "-serial", "-in", cert!)
        .trim()
        .replace(/^serial=/, "");
      return { certFile: cert!, keyFile: key!, serial };
    },
  };
}
