import { defineConfig, type Plugin } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";
import { readdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { join } from "node:path";
import { gzipSync } from "node:zlib";

// Each section is a page of its own (its own entry, so a page loads only its section's
// code); the server falls back to a section's page for every path under it.
const pages = {
  landing: "index.html",
  skills: "skills/index.html",
  account: "account/index.html",
  shop: "shop/index.html",
  agents: "agents/index.html",
  chat: "app/index.html",
};

// Text files get a gzipped twin the server sends to clients that accept gzip.
const COMPRESSIBLE = /\.(js|css|html|svg|txt|json)$/;

function gzipTwins(): Plugin {
  let outDir = "dist";
  return {
    name: "gzip-twins",
    apply: "build",
    configResolved(c) {
      outDir = c.build.outDir;
    },
    closeBundle() {
      const walk = (dir: string) => {
        for (const name of readdirSync(dir)) {
          const path = join(dir, name);
          if (statSync(path).isDirectory()) walk(path);
          else if (COMPRESSIBLE.test(name) && statSync(path).size > 512) {
            writeFileSync(`${path}.gz`, gzipSync(readFileSync(path), { level: 9 }));
          }
        }
      };
      walk(outDir);
    },
  };
}

// `npm run dev` serves the pages on :5173 with the API proxied to a local server.
export default defineConfig({
  plugins: [svelte(), gzipTwins()],
  build: {
    outDir: "dist",
    emptyOutDir: true,
    sourcemap: false,
    rollupOptions: { input: pages },
  },
  server: {
    proxy: {
      "/api": "http://127.0.0.1:8090",
      "/help": "http://127.0.0.1:8090",
    },
  },
});
