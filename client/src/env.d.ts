// Lets tsc (which does not read .svelte files) type the imports Vite resolves:
// components (checked by the Svelte compiler at build time) and stylesheets.
declare module '*.svelte' {
  import type { Component } from 'svelte';
  const component: Component<any>;
  export default component;
}

declare module '*.css';
