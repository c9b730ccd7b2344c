// Lets tsc (which does not read .svelte files) type the imports of components.
// The components themselves are checked by the Svelte compiler at build time.
declare module '*.svelte' {
  import type { Component } from 'svelte';
  const component: Component<any>;
  export default component;
}
