// The pages' API client: same-origin requests, and the server's own error message kept.

/** An answer that was not a success, with the server's `{status, message, data}`. */
export class ApiError extends Error {
  status: number;
  data: unknown;
  constructor(status: number, message: string, data: unknown = {}) {
    super(message);
    this.status = status;
    this.data = data;
  }
}

type Options = { method?: string; json?: unknown; body?: BodyInit; token?: string; signal?: AbortSignal };

/** Calls the API at `path`; resolves to the JSON (or text) answer, rejects with ApiError. */
export async function api<T>(path: string, opts: Options = {}): Promise<T> {
  const headers: Record<string, string> = { Accept: "application/json" };
  if (opts.token) headers.Authorization = `Bearer ${opts.token}`;
  let body = opts.body;
  if (opts.json !== undefined) {
    headers["Content-Type"] = "application/json";
    body = JSON.stringify(opts.json);
  }
  let resp: Response;
  try {
    resp = await fetch(path, { method: opts.method ?? "GET", headers, body, signal: opts.signal });
  } catch (e) {
    throw new ApiError(0, `The server could not be reached (${(e as Error).message}).`);
  }
  const type = resp.headers.get("content-type") ?? "";
  const payload = type.includes("json") ? await resp.json().catch(() => null) : await resp.text();
  if (!resp.ok) {
    const message =
      (payload && typeof payload === "object" && "message" in payload && String(payload.message)) ||
      `The server answered ${resp.status} ${resp.statusText}.`;
    throw new ApiError(resp.status, message, (payload as { data?: unknown })?.data ?? {});
  }
  return payload as T;
}

/** `?a=1&b=2` from the non-empty values of `params`. */
export function query(params: Record<string, string | number | undefined | null>): string {
  const q = new URLSearchParams();
  for (const [k, v] of Object.entries(params)) {
    if (v !== undefined && v !== null && v !== "") q.set(k, String(v));
  }
  const s = q.toString();
  return s ? `?${s}` : "";
}
