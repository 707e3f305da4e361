// Where to go after signing in: the page that sent the visitor here, if it is ours.

export function nextPage(query: URLSearchParams): string {
  const next = query.get("next") ?? "";
  return next.startsWith("/") && !next.startsWith("//") && !next.startsWith("/\\") ? next : "/account";
}

/** A link to the sign-in page that comes back to where the visitor is now. */
export function signInHref(): string {
  return `/account?next=${encodeURIComponent(window.location.pathname + window.location.search)}`;
}
