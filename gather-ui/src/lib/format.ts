// How numbers and dates read on the pages.

/** A 1-10 score with one decimal, or a dash before the first review. */
export function score(v: number | null | undefined): string {
  return v === null || v === undefined ? "–" : v.toFixed(1);
}

/** The score's band, for its badge: good (7+), fair (5+), poor. */
export function band(v: number | null | undefined): "good" | "fair" | "poor" | "none" {
  if (v === null || v === undefined) return "none";
  return v >= 7 ? "good" : v >= 5 ? "fair" : "poor";
}

export function count(n: number): string {
  return new Intl.NumberFormat("en").format(n);
}

/** `12 Mar 2026` from the API's `2026-03-12 10:00:00.000Z`. */
export function date(s: string): string {
  const d = new Date(s.replace(" ", "T"));
  return Number.isNaN(d.getTime()) ? s : d.toLocaleDateString("en-GB", { day: "numeric", month: "short", year: "numeric" });
}

/** Sets the tab's title for the view shown. */
export function title(...parts: string[]) {
  document.title = [...parts, "Gather"].join(" · ");
}

/** `1 review`, `3 reviews`. */
export function plural(n: number, one: string, many = `${one}s`): string {
  return `${count(n)} ${n === 1 ? one : many}`;
}
