// What each page loads (JS + CSS, gzipped, as the server sends it), from dist/: the
// files its HTML names, and the chunks no page names (loaded on demand by a view).
import { readFileSync, readdirSync, statSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

const dist = new URL("../dist/", import.meta.url).pathname;
const gz = (file) => gzipSync(readFileSync(join(dist, file)), { level: 9 }).length;
const kb = (n) => `${(n / 1024).toFixed(1)} kB`;

const pages = [];
const walk = (dir) => {
  for (const name of readdirSync(join(dist, dir))) {
    const rel = dir ? `${dir}/${name}` : name;
    if (statSync(join(dist, rel)).isDirectory()) walk(rel);
    else if (name === "index.html") pages.push(rel);
  }
};
walk("");

const named = new Set();
console.log("| page | JS | CSS | total |\n|---|---|---|---|");
for (const page of pages.sort()) {
  const html = readFileSync(join(dist, page), "utf8");
  const files = [...html.matchAll(/(?:src|href)="\/(assets\/[^"]+\.(?:js|css))"/g)].map((m) => m[1]);
  files.forEach((f) => named.add(f));
  const js = files.filter((f) => f.endsWith(".js")).reduce((n, f) => n + gz(f), 0);
  const css = files.filter((f) => f.endsWith(".css")).reduce((n, f) => n + gz(f), 0);
  console.log(`| /${page.replace(/index\.html$/, "")} | ${kb(js)} | ${kb(css)} | ${kb(js + css)} |`);
}
for (const f of readdirSync(join(dist, "assets")).filter((f) => /\.(js|css)$/.test(f))) {
  if (!named.has(`assets/${f}`)) console.log(`| on demand: ${f} | ${kb(gz(`assets/${f}`))} | | |`);
}
