// The contributor page: mounts the app, exposes `window.crowdcrawl` for
// automation, and starts at once when opened as an edge worker.
import { mount } from 'svelte';
import App from './App.svelte';
import { pageMode } from './lib/mode.ts';
import { ContributorPage } from './state/page.svelte.ts';
import type { CrowdcrawlPageApi } from '../../shared/page-api.ts';
import './styles.css';

declare global {
  interface Window {
    crowdcrawl?: CrowdcrawlPageApi;
  }
}

const mode = pageMode(location.search, location.hash);
const page = new ContributorPage(mode);
mount(App, { target: document.getElementById('app')!, props: { page } });
window.crowdcrawl = page.api();
if (mode.kind === 'headless') {
  document.documentElement.dataset.mode = 'headless';
  if (mode.autostart) page.contribute();
}
