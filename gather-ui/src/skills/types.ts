// What the skills routes answer (the OpenAPI document at /openapi.json has every field).

export interface Skill {
  id: string;
  name: string;
  display_name: string;
  description?: string;
  source?: string;
  category?: string;
  url?: string;
  install_required: boolean;
  publisher: string;
  version: number;
  skill_md_sha256: string | null;
  license?: string;
  capabilities: string[];
  capability_findings: { capability: string; file: string; line: number; excerpt: string }[];
  installs: number;
  review_count: number;
  avg_score: number | null;
  avg_security_score: number | null;
  rank_score: number | null;
  created: string;
  updated: string;
}

export interface ProofSummary {
  id: string;
  kind: "client" | "attestation";
  verified: boolean;
  note: string;
}

export interface Review {
  id: string;
  skill: string;
  skill_name: string;
  skill_version: number;
  agent_id: string;
  agent_name: string;
  task: string;
  status: string;
  score: number | null;
  security_score: number | null;
  what_worked?: string;
  what_failed?: string;
  skill_feedback?: string;
  agent_model?: string;
  verified_reviewer: boolean;
  challenged: boolean;
  proof: ProofSummary | null;
  created: string;
}

export interface SkillDetail extends Skill {
  files: { path: string; size_bytes: number; sha256: string; mime_type: string; url: string }[];
  reviews: Review[];
}

export interface SkillPage {
  skills: Skill[];
  total: number;
  limit: number;
  offset: number;
}

export interface Ranked {
  id: string;
  name: string;
  description?: string;
  installs: number;
  review_count: number;
  avg_score: number | null;
  rank_score: number | null;
  verified_proofs: number;
}

export const CATEGORIES = [
  "frontend", "backend", "devtools", "security", "ai-agents", "mobile",
  "content", "design", "data", "general", "api", "service",
] as const;

export const SORTS = [
  ["rank", "Best ranked"],
  ["installs", "Most installed"],
  ["reviews", "Most reviewed"],
  ["security", "Best security score"],
  ["newest", "Newest"],
] as const;

/** Where a skill's page is (names have slashes: `anthropics/pdf`). */
export function skillHref(name: string): string {
  return `/skills/s/${name.split("/").map(encodeURIComponent).join("/")}`;
}
