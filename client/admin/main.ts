// The admin console: one state object (AdminApp) and the components that render it.
import { mount } from 'svelte';
import App from './App.svelte';
import { AdminApp } from './state/app.svelte.ts';
import './styles.css';

const app = new AdminApp();
mount(App, { target: document.getElementById('app')!, props: { app } });
