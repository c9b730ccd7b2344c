// The console's pages, as paths under /admin (the hub serves the console for
// every one of them): the History API moves between them without a reload.

export type Route =
  | { name: 'crawls' }
  | { name: 'new'; specId: string | null; fromCrawl: string | null }
  | { name: 'crawl'; id: string }
  | { name: 'contributors' }
  | { name: 'specs' }
  | { name: 'schedules' }
  | { name: 'webhooks' }
  | { name: 'notFound'; path: string };

export const BASE = '/admin';

export function parseRoute(pathname: string, search: string): Route {
  const path = pathname.replace(/\/+$/, '') || '/';
  const query = new URLSearchParams(search);
  if (path === BASE || path === '/') return { name: 'crawls' };
  if (path === `${BASE}/new`) return { name: 'new', specId: query.get('spec'), fromCrawl: query.get('from') };
  if (path === `${BASE}/contributors`) return { name: 'contributors' };
  if (path === `${BASE}/specs`) return { name: 'specs' };
  if (path === `${BASE}/schedules`) return { name: 'schedules' };
  if (path === `${BASE}/webhooks`) return { name: 'webhooks' };
  const crawl = new RegExp(`^${BASE}/crawls/([^/]+)$`).exec(path);
  if (crawl) return { name: 'crawl', id: decodeURIComponent(crawl[1]!) };
  return { name: 'notFound', path };
}

export class Router {
  route = $state.raw<Route>(parseRoute(location.pathname, location.search));

  constructor() {
    addEventListener('popstate', () => {
      this.route = parseRoute(location.pathname, location.search);
    });
    // Links inside the console change the page without a reload.
    document.addEventListener('click', (event) => {
      if (event.defaultPrevented || event.button !== 0 || event.metaKey || event.ctrlKey || event.shiftKey || event.altKey) return;
      const link = (event.target as Element | null)?.closest?.('a');
      if (!link || link.target || link.hasAttribute('download')) return;
      const url = new URL(link.href, location.href);
      if (url.origin !== location.origin || !(url.pathname === BASE || url.pathname.startsWith(`${BASE}/`))) return;
      event.preventDefault();
      this.go(url.pathname + url.search);
    });
  }

  go(href: string, replace = false): void {
    if (replace) history.replaceState(null, '', href);
    else history.pushState(null, '', href);
    this.route = parseRoute(location.pathname, location.search);
    scrollTo(0, 0);
  }
}

export const crawlHref = (id: string) => `${BASE}/crawls/${encodeURIComponent(id)}`;
