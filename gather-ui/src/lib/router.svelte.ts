// History-API routing inside one section: the path under the section's base picks the
// view; links to other sections are ordinary page loads.

export class Router {
  readonly base: string;
  path = $state("/");
  query = $state(new URLSearchParams());

  constructor(base: string) {
    this.base = base.replace(/\/$/, "");
    this.read();
    window.addEventListener("popstate", () => this.read());
    document.addEventListener("click", (e) => this.follow(e));
  }

  /** Goes to `href` (a path in this section) without a page load. */
  go(href: string, replace = false) {
    if (replace) history.replaceState({}, "", href);
    else history.pushState({}, "", href);
    this.read();
    window.scrollTo(0, 0);
  }

  /** The parameters of `pattern` (`/s/*name`, `/order/:id`) if the path matches it. */
  match(pattern: string): Record<string, string> | null {
    const want = pattern.split("/").filter(Boolean);
    const got = this.path.split("/").filter(Boolean);
    const params: Record<string, string> = {};
    for (let i = 0; i < want.length; i++) {
      const w = want[i];
      if (w.startsWith("*")) {
        if (i >= got.length) return null;
        params[w.slice(1)] = got.slice(i).map(decodeURIComponent).join("/");
        return params;
      }
      if (i >= got.length) return null;
      if (w.startsWith(":")) params[w.slice(1)] = decodeURIComponent(got[i]);
      else if (w !== got[i]) return null;
    }
    return got.length === want.length ? params : null;
  }

  private read() {
    const p = window.location.pathname;
    this.path = p === this.base || p.startsWith(`${this.base}/`) ? p.slice(this.base.length) || "/" : "/";
    this.query = new URLSearchParams(window.location.search);
  }

  private follow(e: MouseEvent) {
    if (e.defaultPrevented || e.button !== 0 || e.metaKey || e.ctrlKey || e.shiftKey || e.altKey) return;
    const a = (e.target as Element | null)?.closest?.("a");
    if (!a || a.target || a.hasAttribute("download")) return;
    const url = new URL(a.href, window.location.href);
    const inside = url.pathname === this.base || url.pathname.startsWith(`${this.base}/`);
    if (url.origin !== window.location.origin || !inside) return;
    e.preventDefault();
    this.go(url.pathname + url.search + url.hash);
  }
}
