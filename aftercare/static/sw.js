// aftercare service worker, served at /sw.js so that its scope is the whole app.
//
// Rules, because pages carry health data:
// - HTML is never written to a cache. Only the two public pages below, fetched
//   without cookies at install time, are kept, so offline there is always a way
//   to crisis resources (CLIN-05).
// - Static files are cached; APIs and everything else go to the network untouched.
// - Entries saved offline wait in the IndexedDB outbox (outbox.js), not in a cache;
//   Background Sync sends them when the connection returns.
//
// Bump VERSION whenever SHELL or this file's logic changes: a new value makes the
// browser install a fresh cache and drop the old one.

// The offline outbox (IndexedDB), shared with the page: defines self.aftercareOutbox.
// A change to it also updates this worker (imported scripts are compared on update checks).
importScripts("/static/js/outbox.js");

const VERSION = "v4";
const CACHE = `aftercare-${VERSION}`;
const SHELL = [
  "/offline",
  "/crisis",
  "/static/css/app.css",
  "/static/js/app.js",
  "/static/js/sync.js",
  "/static/js/outbox.js",
  "/static/js/crisis.js",
  "/static/js/mood.js",
  "/manifest.webmanifest",
  "/static/icons/icon-192.png",
  "/static/icons/favicon.svg",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      // credentials: "omit" caches the signed-out rendering, whoever is signed in;
      // cache: "reload" skips the HTTP cache so a new VERSION gets fresh copies.
      await cache.addAll(SHELL.map((url) => new Request(url, { credentials: "omit", cache: "reload" })));
      await self.skipWaiting();
    })(),
  );
});

self.addEventListener("activate", (event) => {
  event.waitUntil(
    (async () => {
      for (const name of await caches.keys()) {
        if (name.startsWith("aftercare-") && name !== CACHE) await caches.delete(name);
      }
      await self.clients.claim();
    })(),
  );
});

self.addEventListener("fetch", (event) => {
  const { request } = event;
  if (request.method !== "GET") return;
  const url = new URL(request.url);
  if (url.origin !== self.location.origin) return;

  if (request.mode === "navigate") {
    event.respondWith(page(request, url));
  } else if (url.pathname.startsWith("/static/")) {
    event.respondWith(staticAsset(request));
  } else if (url.pathname === "/manifest.webmanifest") {
    event.respondWith(fetch(request).catch(() => fromShell(url.pathname)));
  }
  // Anything else (/api/, exports, audio…) is not intercepted at all.
});

// Network first, and the response goes straight to the page: authenticated HTML
// must never sit in a cache on a shared or lost phone.
async function page(request, url) {
  try {
    return await fetch(request);
  } catch (error) {
    return fromShell(url.pathname === "/crisis" ? "/crisis" : "/offline");
  }
}

// Pages link assets as /static/x?v=<content hash>, and an exact URL never changes
// content, so an exact hit is always right. We only ignore the query when offline:
// then an older copy (or the unversioned precached one) beats no stylesheet at all.
async function staticAsset(request) {
  const cache = await caches.open(CACHE);
  const exact = await cache.match(request);
  if (exact) return exact;
  try {
    const response = await fetch(request);
    if (response.status === 200) {
      // Drop superseded ?v= copies; keep the unversioned shell entry for offline use.
      for (const old of await cache.keys(request, { ignoreSearch: true })) {
        if (old.url !== request.url && new URL(old.url).search) await cache.delete(old);
      }
      await cache.put(request, response.clone());
    }
    return response;
  } catch (error) {
    const fallback = await cache.match(request, { ignoreSearch: true });
    if (fallback) return fallback;
    throw error;
  }
}

async function fromShell(path) {
  return (await caches.match(path, { cacheName: CACHE })) ?? Response.error();
}

// Background Sync (Chromium): send the outbox when the connection returns, even with the app
// closed. Rejecting when entries are still waiting for the network asks the browser to retry
// later; the page's own triggers (online, focus, a timer) cover browsers without sync.
self.addEventListener("sync", (event) => {
  if (event.tag !== "aftercare-outbox") return;
  event.waitUntil(
    self.aftercareOutbox.flush().then((result) => {
      if (result.remaining > 0 && (result.stopped === "offline" || result.stopped === "busy")) {
        throw new Error(`outbox: ${result.remaining} waiting (${result.stopped})`);
      }
      return result;
    }),
  );
});

// Tests (and pages) ask which worker version is running.
self.addEventListener("message", (event) => {
  if (event.data?.type === "ping") {
    event.source?.postMessage({ type: "pong", version: VERSION });
  }
});
