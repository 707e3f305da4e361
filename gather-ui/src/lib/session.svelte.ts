// The signed-in human, shared by every page: PocketBase's official JS SDK against this
// server, its auth store in localStorage (so all sections see the same session).
import PocketBase, { type RecordModel } from "pocketbase";

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

export { errorText } from "./api";
