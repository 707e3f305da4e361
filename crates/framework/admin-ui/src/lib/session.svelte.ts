// Who is logged in: the superuser's token and e-mail, kept in localStorage.
const KEY = "dashboard_session";
// Where versions that named their app kept it: moved once, so nobody is signed out.
const OLD_KEY = "gather_admin";

function load(): { token: string; email: string } {
  const old = localStorage.getItem(OLD_KEY);
  if (old !== null) {
    if (localStorage.getItem(KEY) === null) localStorage.setItem(KEY, old);
    localStorage.removeItem(OLD_KEY);
  }
  try {
    const v = JSON.parse(localStorage.getItem(KEY) ?? "{}");
    return { token: String(v.token ?? ""), email: String(v.email ?? "") };
  } catch {
    return { token: "", email: "" };
  }
}

export const session = $state(load());

export function signIn(token: string, email: string) {
  session.token = token;
  session.email = email;
  localStorage.setItem(KEY, JSON.stringify({ token, email }));
}

export function signOut() {
  session.token = "";
  session.email = "";
  localStorage.removeItem(KEY);
}
