// The signed-in human, shared by every page: PocketBase's official JS SDK against this
// server, its auth store in localStorage (so all sections see the same session).
import PocketBase, { ClientResponseError, type RecordModel } from "pocketbase";

export const pb = new PocketBase(window.location.origin);
pb.autoCancellation(false);

/** The collection humans sign up to. */
export const USERS = "users";

class Session {
  user = $state<RecordModel | null>(pb.authStore.isValid ? pb.authStore.record : null);

  constructor() {
    pb.authStore.onChange(() => {
      this.user = pb.authStore.isValid ? pb.authStore.record : null;
    });
  }

  get token(): string | undefined {
    return pb.authStore.isValid ? pb.authStore.token : undefined;
  }

  signOut() {
    pb.authStore.clear();
  }
}

export const session = new Session();

/** What the server said, from the SDK's errors as from the pages' own API client. */
export function errorText(e: unknown): string {
  if (e instanceof ClientResponseError) {
    const r = e.response as { message?: string; data?: Record<string, { message?: string }> };
    const fields = Object.entries(r?.data ?? {})
      .map(([k, v]) => (v?.message ? `${k}: ${v.message}` : ""))
      .filter(Boolean);
    if (e.status === 0) return `The server could not be reached (${e.message}).`;
    return [r?.message || e.message, ...fields].join(" ");
  }
  return e instanceof Error ? e.message : String(e);
}
