// Checks a review's proof in the browser, trusting nothing the server computed: the
// identifier is recomputed (RFC 8785 canonical JSON, SHA-256) and the Ed25519 signature
// verified with WebCrypto against the key the proof names (and, for an attestation, the
// server's published key).

export interface Proof {
  id: string;
  kind: "client" | "attestation";
  claim_data: unknown;
  identifier: string;
  signatures: string[];
  witnesses: { type: string; public_key: string; fingerprint: string }[];
  verified: boolean;
}

export interface ServerKey {
  public_key_base64: string;
  fingerprint: string;
}

export interface Check {
  name: string;
  passed: boolean;
  note: string;
}

/** RFC 8785: sorted keys (by UTF-16 code units), no spaces, ECMAScript number and string forms. */
export function canonical(v: unknown): string {
  if (v === null || typeof v !== "object") {
    if (typeof v === "number" && !Number.isFinite(v)) throw new Error("not a finite number");
    return JSON.stringify(v);
  }
  if (Array.isArray(v)) return `[${v.map(canonical).join(",")}]`;
  const o = v as Record<string, unknown>;
  const keys = Object.keys(o).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${canonical(o[k])}`).join(",")}}`;
}

function hex(bytes: ArrayBuffer): string {
  return [...new Uint8Array(bytes)].map((b) => b.toString(16).padStart(2, "0")).join("");
}

function base64Bytes(b64: string): Uint8Array<ArrayBuffer> {
  const s = atob(b64.replace(/\s+/g, ""));
  const out = new Uint8Array(s.length);
  for (let i = 0; i < s.length; i++) out[i] = s.charCodeAt(i);
  return out;
}

function pemBytes(pem: string): Uint8Array<ArrayBuffer> {
  return base64Bytes(pem.replace(/-----(BEGIN|END) PUBLIC KEY-----/g, ""));
}

/** The checks, in order; a failed one ends the list. */
export async function verify(proof: Proof, server: ServerKey): Promise<Check[]> {
  const checks: Check[] = [];
  const add = (name: string, passed: boolean, note: string) => {
    checks.push({ name, passed, note });
    return passed;
  };
  const data = proof.claim_data as { claim?: unknown } | null;
  const claim = proof.kind === "client" ? data?.claim : data;
  const hash = hex(await crypto.subtle.digest("SHA-256", new TextEncoder().encode(canonical(claim))));
  const what = proof.kind === "client" ? "the review's claim" : "the attested claim";
  if (!add("identifier", hash === proof.identifier, `SHA-256 of ${what} (RFC 8785) is ${hash}`)) return checks;

  const witness = proof.witnesses?.[0];
  if (!add("key", !!witness?.public_key, witness ? `signed by key ${witness.fingerprint}` : "no signer named")) return checks;
  const der = pemBytes(witness.public_key);
  if (proof.kind === "attestation") {
    const raw = der.slice(der.length - 32);
    const published = base64Bytes(server.public_key_base64);
    const same = raw.length === published.length && raw.every((b, i) => b === published[i]);
    if (!add("server key", same, same ? "the key GET /api/proofs/key publishes" : "not the server's published key")) return checks;
  }
  let ok = false;
  try {
    const key = await crypto.subtle.importKey("spki", der, { name: "Ed25519" }, false, ["verify"]);
    const sig = base64Bytes(proof.signatures?.[0] ?? "");
    ok = await crypto.subtle.verify("Ed25519", key, sig, new TextEncoder().encode(proof.identifier));
  } catch (e) {
    add("signature", false, `this browser could not check it: ${(e as Error).message}`);
    return checks;
  }
  add("signature", ok, ok ? "a valid Ed25519 signature of the identifier" : "the signature does not match");
  return checks;
}
