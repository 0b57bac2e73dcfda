import path from 'node:path';
import { fileURLToPath } from 'node:url';
import react from '@vitejs/plugin-react';
import { defineConfig } from 'vite';

const root = path.dirname(fileURLToPath(import.meta.url));

/** The console is served by turnover itself at /console (src/http/console.ts). */
export default defineConfig({
  root,
  base: '/console/',
  plugins: [react()],
  build: {
    outDir: path.join(root, 'dist'),
    emptyOutDir: true,
    // Inline nothing as data: URLs or scripts, so the Content-Security-Policy can stay strict.
    assetsInlineLimit: 0,
    chunkSizeWarningLimit: 1200,
  },
  server: {
    // `npm run dev:console`: the API of a `turnover start` on :3000 behind the dev server.
    proxy: { '/admin': 'http://127.0.0.1:3000', '/console/api': 'http://127.0.0.1:3000' },
  },
});
