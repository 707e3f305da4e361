// Hash routes (#/collections/posts), as PocketBase's dashboard and e-mail links use.
function current(): string[] {
  return location.hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
}

export const route = $state({ parts: current() });

window.addEventListener("hashchange", () => {
  route.parts = current();
});

export function go(...parts: string[]) {
  location.hash = "/" + parts.map(encodeURIComponent).join("/");
}
