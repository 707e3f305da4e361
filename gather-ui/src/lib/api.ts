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

/** What the server said: its message and each field's, from the pages' own client and
 * from PocketBase's SDK alike. */
export function errorText(e: unknown): string {
  if (e instanceof ApiError) return withFields(e.message, e.data);
  const sdk = e as { status?: number; message?: string; response?: { message?: string; data?: unknown } };
  if (sdk && typeof sdk === "object" && "response" in sdk) {
    if (sdk.status === 0) return `The server could not be reached (${sdk.message}).`;
    return withFields(sdk.response?.message || sdk.message || "", sdk.response?.data);
  }
  return e instanceof Error ? e.message : String(e);
}

/** The message of each field of the error's `data` (`{field: {code, message}}`, nested
 * for nested bodies), by its dotted path: `shipping_address.country`. */
export function fieldErrors(e: unknown): Record<string, string> {
  const data = e instanceof ApiError ? e.data : (e as { response?: { data?: unknown } })?.response?.data;
  const out: Record<string, string> = {};
  const walk = (v: unknown, path: string) => {
    if (!v || typeof v !== "object") return;
    const leaf = v as { message?: unknown };
    if (typeof leaf.message === "string") out[path] = leaf.message;
    else for (const [k, child] of Object.entries(v)) walk(child, path ? `${path}.${k}` : k);
  };
  walk(data, "");
  return out;
}

function withFields(message: string, data: unknown): string {
  const fields = Object.entries(fieldErrors(new ApiError(0, "", data))).map(([k, v]) => `${k}: ${v}`);
  return [message, ...fields].filter(Boolean).join(" ");
}
