// aftercare service worker, served at /sw.js so that its scope is the whole app.
//
// Rules, because pages carry health data:
// - HTML is never written to a cache. Only the public pages below and the guides (fetched
//   without cookies at install) are kept, so offline there is always a way to crisis resources
//   (CLIN-05) and to what to expect. The offline inbox page holds no one's messages: inbox.js
//   fills it from the copy the page kept in localStorage.
// - Static files are cached; APIs and everything else go to the network untouched.
// - Entries saved offline wait in the IndexedDB outbox (outbox.js), not in a cache;
//   Background Sync sends them when the connection returns.
//
// VERSION is filled in when the worker is served: the hash of this file with every
// /static/ path below rewritten to its versioned URL (aftercare/pwa/assets.py). Any change
// to this file or to a file it caches gives a new worker, a fresh cache, the old one dropped.

// The offline outbox (IndexedDB), shared with the page: defines self.aftercareOutbox.
// A change to it also updates this worker (imported scripts are compared on update checks).
importScripts("/static/js/outbox.js");

const VERSION = "dev";
const CACHE = `aftercare-${VERSION}`;
// The public pages every offline moment needs, fetched signed out and revalidated at install.
const PAGES = ["/offline", "/crisis", "/inbox/offline", "/manifest.webmanifest"];
// The files those pages and Today use, by the same versioned URLs the pages ask for: a page's
// first visit has already put them in the HTTP cache, so installing downloads nothing twice.
const FILES = [
  "/static/css/app.css",
  "/static/js/app.js",
  "/static/js/sync.js",
  "/static/js/outbox.js",
  "/static/js/crisis.js",
  "/static/js/mood.js",
  "/static/js/inbox.js",
  "/static/icons/favicon.svg",
];

self.addEventListener("install", (event) => {
  event.waitUntil(
    (async () => {
      const cache = await caches.open(CACHE);
      // credentials: "omit" caches the signed-out rendering, whoever is signed in; "no-cache"
      // revalidates the pages. Versioned files never change, so the HTTP cache may answer.
      await cache.addAll([
        ...PAGES.map((url) => new Request(url, { credentials: "omit", cache: "no-cache" })),
        ...FILES.map((url) => new Request(url, { credentials: "omit" })),
      ]);
      await cacheGuides(cache); // never fails the install: a missing guide is fetched at the next refresh
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
    event.waitUntil(refreshPublicPages());
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
    return offlinePage(url.pathname);
  }
}

// Offline, these paths get their own page from the shell; a guide kept for offline reading is
// itself; every other page gets /offline.
const OFFLINE_PAGES = { "/crisis": "/crisis", "/inbox": "/inbox/offline" };

async function offlinePage(path) {
  if (OFFLINE_PAGES[path]) return fromShell(OFFLINE_PAGES[path]);
  if (isGuide(path)) {
    const guide = await caches.match(path, { cacheName: CACHE, ignoreVary: true });
    if (guide) return guide;
  }
  return fromShell("/offline");
}

// The "what to expect" guides hold no one's data: kept for offline reading, signed out like the
// pages above. They come as one small answer ({pages: {path: html}}, compressed) at install; the
// clinic edits them, so they are asked for again with each refresh (a 304 while nothing changed).
// A guide the clinic hid is dropped; when the answer fails, what is cached stays.
const GUIDES = "/guides/offline.json";
function isGuide(path) {
  return path === "/guides" || path.startsWith("/guides/");
}
// The headers a kept guide is served with offline, taken from the bundle's own answer.
const GUIDE_HEADERS = ["content-security-policy", "x-content-type-options", "referrer-policy", "x-frame-options"];

async function cacheGuides(cache) {
  try {
    const answer = await fetch(new Request(GUIDES, { credentials: "omit", cache: "no-cache" }));
    if (answer.status !== 200) return;
    const { pages } = await answer.json();
    const headers = { "Content-Type": "text/html; charset=utf-8" };
    for (const name of GUIDE_HEADERS) {
      if (answer.headers.has(name)) headers[name] = answer.headers.get(name);
    }
    const keep = new Set();
    for (const [path, html] of Object.entries(pages && typeof pages === "object" ? pages : {})) {
      if (typeof html !== "string" || !isGuide(path)) continue;
      await cache.put(path, new Response(html, { headers }));
      keep.add(new URL(path, self.location.origin).href);
    }
    for (const request of await cache.keys()) {
      const path = new URL(request.url).pathname;
      if (isGuide(path) && !keep.has(request.url)) await cache.delete(request);
    }
  } catch {
    // offline or a bad answer: keep what is cached
  }
}

// The crisis and offline pages carry the clinic's own lines and phone number, which an
// administrator may change: while online, fetch them again every few hours (signed out, like
// at install), so an installed app never shows an old number offline.
const PUBLIC_PAGES = ["/offline", "/crisis", "/inbox/offline"];
const REFRESH_EVERY_MS = 6 * 60 * 60 * 1000;
let checkedAt = 0;

async function refreshPublicPages() {
  // At most once a minute per worker, a look at the cached copy's own Date says whether it is old.
  if (Date.now() - checkedAt < 60_000) return;
  checkedAt = Date.now();
  try {
    const cache = await caches.open(CACHE);
    // Guides the install could not fetch (offline, a server error) are fetched now.
    if (!(await cache.match("/guides", { ignoreVary: true }))) await cacheGuides(cache);
    const cached = await cache.match("/crisis", { ignoreVary: true });
    const fetchedAt = Date.parse(cached?.headers.get("date") ?? "") || 0;
    if (Date.now() - fetchedAt < REFRESH_EVERY_MS) return;
    for (const path of PUBLIC_PAGES) {
      const response = await fetch(new Request(path, { credentials: "omit", cache: "no-cache" }));
      if (response.status === 200) await cache.put(path, response);
    }
    await cacheGuides(cache);
  } catch {
    checkedAt = 0; // offline after all: next time
  }
}

// Pages link assets as /static/x?v=<content hash>, and an exact URL never changes
// content, so an exact hit is always right. We only ignore the query when offline:
// then an older copy beats no stylesheet at all. (Vary is ignored: a versioned file is
// the same whatever encoding carried it.)
async function staticAsset(request) {
  const cache = await caches.open(CACHE);
  const exact = await cache.match(request, { ignoreVary: true });
  if (exact) return exact;
  try {
    const response = await fetch(request);
    if (response.status === 200) {
      // Drop superseded ?v= copies of the same file.
      for (const old of await cache.keys(request, { ignoreSearch: true, ignoreVary: true })) {
        if (old.url !== request.url) await cache.delete(old);
      }
      await cache.put(request, response.clone());
    }
    return response;
  } catch (error) {
    const fallback = await cache.match(request, { ignoreSearch: true, ignoreVary: true });
    if (fallback) return fallback;
    throw error;
  }
}

// The precached pages are the same for everyone, whatever their Vary says.
async function fromShell(path) {
  return (await caches.match(path, { cacheName: CACHE, ignoreVary: true })) ?? Response.error();
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

// ---------------------------------------------------------------- reminders (web push)

// Every push shows a notification, inside waitUntil: a push that shows nothing costs the site its
// permission in some browsers. The payload is declarative web push (RFC 8030 message, WebKit's
// shape), so newer Safari shows it without waking this worker; everyone else arrives here.
self.addEventListener("push", (event) => {
  event.waitUntil(showPush(event.data));
});

async function showPush(data) {
  let message = {};
  try {
    message = data ? data.json() : {};
  } catch {
    message = {};
  }
  const notification = message?.notification ?? {};
  const title = typeof notification.title === "string" && notification.title ? notification.title : "aftercare";
  const options = {
    body: typeof notification.body === "string" ? notification.body : "",
    tag: typeof notification.tag === "string" ? notification.tag : "",
    lang: "en",
    icon: "/static/icons/icon-192.png",
    data: { path: samePath(notification.navigate) },
  };
  await self.registration.showNotification(title, options);
  // Open pages (and the browser tests) hear that it was shown.
  for (const client of await self.clients.matchAll({ type: "window", includeUncontrolled: true })) {
    client.postMessage({ type: "push-shown", tag: options.tag, path: options.data.path });
  }
}

// Only a path on this site is ever opened from a notification.
function samePath(navigate) {
  try {
    const url = new URL(navigate, self.location.origin);
    if (url.origin === self.location.origin) return url.pathname + url.search + url.hash;
  } catch {
    // not a URL: Today instead
  }
  return "/home";
}

self.addEventListener("notificationclick", (event) => {
  event.notification.close();
  event.waitUntil(openPath(event.notification.data?.path || "/home"));
});

async function openPath(path) {
  const target = new URL(samePath(path), self.location.origin).href;
  const windows = await self.clients.matchAll({ type: "window", includeUncontrolled: true });
  const ours =
    windows.find((client) => client.url === target) ??
    windows.find((client) => new URL(client.url).origin === self.location.origin);
  if (ours) {
    try {
      await ours.focus();
    } catch {
      // focusing needs the click's permission; the page is still ours to send on
    }
    if (ours.url === target) return ours;
    try {
      return await ours.navigate(target);
    } catch {
      // not controlled by this worker (opened before it): a new window instead
    }
  }
  return self.clients.openWindow(target);
}

// The push service renewed the subscription: subscribe again if needed and tell the server,
// which replaces the old device with the new one.
self.addEventListener("pushsubscriptionchange", (event) => {
  event.waitUntil(resubscribe(event.oldSubscription, event.newSubscription));
});

async function resubscribe(oldSubscription, newSubscription) {
  let subscription = newSubscription;
  if (!subscription) {
    const answer = await fetch("/api/v1/push/key", { credentials: "same-origin", cache: "no-store" });
    if (!answer.ok) return;
    const { public_key: key } = await answer.json();
    if (!key) return;
    subscription = await self.registration.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key });
  }
  const token = await fetch("/api/v1/csrf", { credentials: "same-origin", cache: "no-store" });
  if (!token.ok) return; // signed out: the next app open sets it right
  await fetch("/api/v1/devices", {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", "X-CSRFToken": (await token.json()).csrf_token },
    body: JSON.stringify({ ...subscription.toJSON(), replaces: oldSubscription?.endpoint }),
  });
}
