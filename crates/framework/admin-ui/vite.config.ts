import { defineConfig } from "vite";
import { svelte } from "@sveltejs/vite-plugin-svelte";

// Served by the server at /_/; `npm run dev` proxies the API to a local server.
export default defineConfig({
  base: "/_/",
  plugins: [svelte()],
  build: { outDir: "dist", emptyOutDir: true, sourcemap: false },
  server: { proxy: { "/api": "http://127.0.0.1:8090" } },
});
