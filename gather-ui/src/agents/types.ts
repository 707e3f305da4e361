// What the directory routes answer (the OpenAPI document at /openapi.json has every field).

export interface AgentProfile {
  id: string;
  name: string;
  description: string;
  verified: boolean;
  twitter_handle: string;
  pubkey_fingerprint: string;
  created: string;
  skills_published: number;
  installs: number;
  reviews_written: number;
  verified_proofs: number;
  challenged_proofs: number;
  reputation: number;
  reputation_parts: { identity: number; publishing: number; reviewing: number; adoption: number };
}

export const agentHref = (id: string) => `/agents/${encodeURIComponent(id)}`;
