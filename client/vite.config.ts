// The browser pages the hub serves, built by one Vite run into client/dist:
// the contributor page (index.html), the admin console (admin.html) and the
// headless edge worker's page (edge.html: the worker loop without any UI).
// `npm run build` runs this; the hub serves client/dist when it exists.
// `vite --config client/vite.config.ts` serves the pages for development and
// passes the hub's routes to a hub on 127.0.0.1:8470 (or $CROWDCRAWL_HUB).
import { defineConfig } from 'vite';
import { svelte } from '@sveltejs/vite-plugin-svelte';

const root = new URL('.', import.meta.url).pathname;
const hub = (globalThis as { process?: { env: Record<string, string | undefined> } }).process?.env.CROWDCRAWL_HUB ?? 'http://127.0.0.1:8470';

export default defineConfig({
  root,
  base: '/',
  plugins: [svelte({ configFile: false })],
  build: {
    outDir: `${root}dist`,
    emptyOutDir: true,
    target: 'es2022',
    // The page is one app plus the extraction engine (loaded when a tab starts contributing).
    chunkSizeWarningLimit: 700,
    rollupOptions: {
      input: {
        index: `${root}index.html`,
        admin: `${root}admin.html`,
        edge: `${root}edge.html`,
      },
    },
  },
  server: {
    proxy: {
      '/socket.io': { target: hub, ws: true },
      '/relay': hub,
      '/results': hub,
      '/api': hub,
    },
  },
});
