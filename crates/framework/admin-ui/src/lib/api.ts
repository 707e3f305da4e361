// The one way the dashboard talks to the server: the public REST API, with the
// superuser's token, errors as ApiError with PocketBase's {status, message, data}.
import { session, signOut } from "./session.svelte";

export class ApiError extends Error {
  status: number;
  data: Record<string, any>;
  constructor(status: number, message: string, data: Record<string, any>) {
    super(message);
    this.status = status;
    this.data = data ?? {};
  }
  /** The message of one field's error, if the server named that field. */
  field(name: string): string | undefined {
    const f = this.data?.[name];
    return f && typeof f === "object" && "message" in f ? String(f.message) : undefined;
  }
}

export async function api<T = any>(method: string, path: string, body?: unknown): Promise<T> {
  const headers: Record<string, string> = {};
  if (session.token) headers["Authorization"] = session.token;
  let payload: BodyInit | undefined;
  if (body instanceof FormData) {
    payload = body;
  } else if (body !== undefined) {
    headers["Content-Type"] = "application/json";
    payload = JSON.stringify(body);
  }
  let resp: Response;
  try {
    resp = await fetch(path, { method, headers, body: payload });
  } catch {
    throw new ApiError(0, "The server cannot be reached.", {});
  }
  if (resp.status === 204) return null as T;
  const data = await resp.json().catch(() => ({}));
  if (!resp.ok) {
    // A superuser token that stopped working (expired, password changed): log in again.
    if (resp.status === 401 && session.token && !path.includes("auth-with-password")) signOut();
    throw new ApiError(resp.status, data?.message ?? resp.statusText, data?.data ?? {});
  }
  return data as T;
}

/** A query string from pairs, skipping empty values. */
export function query(params: Record<string, string | number | boolean | undefined>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}

export function message(e: unknown): string {
  if (e instanceof ApiError) {
    const filter = e.field("filter");
    return filter ? `${e.message} ${filter}` : e.message;
  }
  return e instanceof Error ? e.message : String(e);
}
