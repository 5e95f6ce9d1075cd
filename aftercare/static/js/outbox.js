// aftercare outbox: submissions wait in IndexedDB until the server acknowledges them (OFF-01..06).
//
// A plain script on purpose (no import/export), so that the same code runs in
// - the page: app.js does `import "./outbox.js"` (a module import of a script runs it), and
// - the service worker: `importScripts("/static/js/outbox.js")` (Background Sync).
// Both find it at self.aftercareOutbox and share one database. Both may post the same entry at
// once (going back online fires the page's `online` event and Background Sync): the server
// de-duplicates by client_id (DUR-04), so that is harmless.
//
// Rules: an entry is never dropped. 200/201 removes it; 422 or 413 (refused for good) moves it to
// the `failed` store, still on the device; 401/403 stops (signed out: keep everything); network
// errors, 429 and 5xx leave it and back off; a 400 is usually an old CSRF token: refresh, retry once.

(() => {
  "use strict";

  if (self.aftercareOutbox) return; // loaded twice (module import plus importScripts): keep the first

  const DB_NAME = "aftercare-outbox";
  const DB_VERSION = 1;
  const QUEUE = "outbox";
  const FAILED = "failed";
  const META = "meta";
  const CHANNEL = "aftercare-outbox";
  const URLS = { mood: "/api/v1/mood", checkin: "/api/v1/checkins", journal: "/api/v1/journal" };
  const BACKOFF_BASE_MS = 2_000;
  const BACKOFF_CAP_MS = 5 * 60_000;
  const REQUEST_TIMEOUT_MS = 20_000;

  // ------------------------------------------------------------------ IndexedDB

  let dbPromise = null;

  function openDb() {
    if (dbPromise) return dbPromise;
    dbPromise = new Promise((resolve, reject) => {
      if (typeof indexedDB === "undefined") {
        reject(new Error("IndexedDB is not available"));
        return;
      }
      const request = indexedDB.open(DB_NAME, DB_VERSION);
      request.onupgradeneeded = () => {
        const db = request.result;
        if (!db.objectStoreNames.contains(QUEUE)) db.createObjectStore(QUEUE, { keyPath: "id" });
        if (!db.objectStoreNames.contains(FAILED)) db.createObjectStore(FAILED, { keyPath: "id" });
        if (!db.objectStoreNames.contains(META)) db.createObjectStore(META, { keyPath: "key" });
      };
      request.onsuccess = () => {
        const db = request.result;
        // A newer version of this code (another tab, a new worker) wants to upgrade: let it.
        db.onversionchange = () => {
          db.close();
          dbPromise = null;
        };
        db.onclose = () => {
          dbPromise = null;
        };
        resolve(db);
      };
      request.onerror = () => reject(request.error);
      request.onblocked = () => reject(new Error("The outbox database is blocked by another tab"));
    });
    dbPromise.catch(() => {
      dbPromise = null;
    });
    return dbPromise;
  }

  // Run `work(stores)` in one transaction; resolve with its result once the transaction commits.
  async function tx(names, mode, work) {
    const db = await openDb();
    return new Promise((resolve, reject) => {
      const transaction = db.transaction(names, mode);
      const stores = Object.fromEntries(names.map((name) => [name, transaction.objectStore(name)]));
      let result;
      transaction.oncomplete = () => resolve(result);
      transaction.onerror = () => reject(transaction.error);
      transaction.onabort = () => reject(transaction.error || new Error("outbox transaction aborted"));
      Promise.resolve(work(stores)).then(
        (value) => {
          result = value;
        },
        (error) => {
          try {
            transaction.abort();
          } catch {
            // already finished
          }
          reject(error);
        },
      );
    });
  }

  const req = (request) =>
    new Promise((resolve, reject) => {
      request.onsuccess = () => resolve(request.result);
      request.onerror = () => reject(request.error);
    });

  // ------------------------------------------------------------------ events

  // Listeners in this context; other contexts (tabs, the worker) hear about it on a BroadcastChannel.
  const listeners = new Set();
  const channel = typeof BroadcastChannel === "function" ? new BroadcastChannel(CHANNEL) : null;

  function deliver(event) {
    for (const listener of listeners) {
      try {
        listener(event);
      } catch (error) {
        console.error("outbox listener failed:", error);
      }
    }
  }

  function emit(event) {
    deliver(event);
    try {
      channel?.postMessage(event);
    } catch {
      // a payload that cannot be cloned is not worth failing a flush over
    }
  }

  if (channel) channel.onmessage = (message) => deliver({ ...message.data, remote: true });

  // ------------------------------------------------------------------ helpers

  function uuid() {
    if (self.crypto?.randomUUID) return self.crypto.randomUUID();
    const bytes = self.crypto.getRandomValues(new Uint8Array(16));
    bytes[6] = (bytes[6] & 0x0f) | 0x40;
    bytes[8] = (bytes[8] & 0x3f) | 0x80;
    const hex = [...bytes].map((b) => b.toString(16).padStart(2, "0")).join("");
    return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
  }

  function backoff(attempts, retryAfterMs = 0) {
    const exponential = Math.min(BACKOFF_CAP_MS, BACKOFF_BASE_MS * 2 ** Math.max(0, attempts - 1));
    const jitter = Math.random() * 0.2 * exponential; // spread phones that reconnect together
    return Math.max(retryAfterMs, Math.min(BACKOFF_CAP_MS, exponential + jitter));
  }

  function retryAfterMs(response) {
    const value = response.headers.get("Retry-After");
    if (!value) return 0;
    const seconds = Number(value);
    if (Number.isFinite(seconds)) return Math.max(0, seconds * 1000);
    const date = Date.parse(value);
    return Number.isNaN(date) ? 0 : Math.max(0, date - Date.now());
  }

  async function readJson(response) {
    try {
      return await response.json();
    } catch {
      return null;
    }
  }

  // fetch that gives up after REQUEST_TIMEOUT_MS: a hung connection counts as being offline.
  async function timedFetch(url, options) {
    const controller = typeof AbortController === "function" ? new AbortController() : null;
    const timer = controller ? setTimeout(() => controller.abort(), REQUEST_TIMEOUT_MS) : null;
    try {
      return await fetch(url, { ...options, signal: controller?.signal });
    } finally {
      clearTimeout(timer);
    }
  }

  const SIGNED_OUT = "signed-out";
  const OFFLINE = "offline";
  const BUSY = "busy";

  class Stop extends Error {
    constructor(reason, retryAfter = 0) {
      super(reason);
      this.reason = reason;
      this.retryAfter = retryAfter;
    }
  }

  // ------------------------------------------------------------------ the outbox

  const outbox = {
    // The cached CSRF token (and who it belongs to). Tests set _token to garbage to prove an
    // expired token costs one extra request, never an entry.
    _token: null,
    _user: null,

    /**
     * Queue a submission; resolves with the stored record once it is safely on disk.
     * `owner` (optional) names the signed-in person, so that another person signing in on the
     * same phone never sends it under their name; by default, the last one the server named.
     * `files` (optional): [{field, blob, name}], sent with the payload as multipart/form-data
     * (a journal entry's pictures); IndexedDB keeps the blobs with the rest of the entry.
     */
    async add(kind, payload, { owner, files } = {}) {
      if (!URLS[kind]) throw new Error(`unknown outbox kind: ${kind}`);
      const body = { ...payload };
      if (!body.client_id) body.client_id = uuid();
      const now = Date.now();
      const record = {
        id: body.client_id,
        kind,
        payload: body,
        url: URLS[kind],
        attempts: 0,
        nextAttemptAt: 0,
        createdAt: now,
        owner: owner ?? outbox._user ?? (await outbox._lastUser()),
        files: files ?? [],
      };
      await tx([QUEUE], "readwrite", async ({ [QUEUE]: store }) => {
        // The same id twice is the same entry (a double tap, a replay): keep the first.
        const existing = await req(store.get(record.id));
        if (!existing) store.add(record);
      });
      emit({ type: "queued", id: record.id, kind });
      return record;
    },

    /** A new client id (a v4 UUID, also where crypto.randomUUID is missing): the idempotency key. */
    newId: uuid,

    /** How many submissions wait to be sent. */
    async count() {
      return tx([QUEUE], "readonly", ({ [QUEUE]: store }) => req(store.count()));
    },

    /** Every waiting submission, oldest first. */
    async all() {
      const items = await tx([QUEUE], "readonly", ({ [QUEUE]: store }) => req(store.getAll()));
      return items.sort((a, b) => a.createdAt - b.createdAt || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    },

    /** Submissions the server refused for good (422), kept on the device with its reason. */
    async failed() {
      const items = await tx([FAILED], "readonly", ({ [FAILED]: store }) => req(store.getAll()));
      return items.sort((a, b) => a.createdAt - b.createdAt);
    },

    /** Listen to "queued", "sent", "failed" and "flushed" events from every context. */
    subscribe(listener) {
      listeners.add(listener);
      return () => listeners.delete(listener);
    },

    /**
     * Send every waiting submission, oldest first. One flush at a time per context: a call
     * while one runs waits for it and then flushes once more (so entries queued meanwhile go too).
     * Options: force (default true) ignores the back-off (a tap, going online, Background Sync);
     * the page's timer passes force: false.
     * Resolves with {sent: [{id, kind, status, response}], failed: [...], remaining, stopped}
     * where stopped is null, "offline", "busy" or "signed-out".
     */
    flush(options = {}) {
      if (!running) {
        running = run(options).finally(() => {
          running = null;
        });
        return running;
      }
      if (!again) {
        again = running
          .catch(() => {})
          .then(() => {
            again = null;
            return outbox.flush(options);
          });
      }
      return again;
    },

    async _lastUser() {
      try {
        const row = await tx([META], "readonly", ({ [META]: store }) => req(store.get("user")));
        return row?.value ?? null;
      } catch {
        return null;
      }
    },

    /** Fetch a fresh CSRF token (and, if the server says, who is signed in). */
    async _refreshToken() {
      let response;
      try {
        response = await timedFetch("/api/v1/csrf", {
          credentials: "same-origin",
          cache: "no-store",
          redirect: "manual",
          headers: { Accept: "application/json" },
        });
      } catch {
        throw new Stop(OFFLINE);
      }
      if (response.type === "opaqueredirect" || response.status === 401 || response.status === 403) {
        outbox._token = null;
        throw new Stop(SIGNED_OUT);
      }
      if (response.status === 429 || response.status >= 500) throw new Stop(BUSY, retryAfterMs(response));
      const data = response.ok ? await readJson(response) : null;
      if (!data?.csrf_token) throw new Stop(BUSY);
      outbox._token = data.csrf_token;
      if (data.user !== undefined && data.user !== null) {
        outbox._user = String(data.user);
        tx([META], "readwrite", ({ [META]: store }) => store.put({ key: "user", value: outbox._user })).catch(
          () => {},
        );
      }
      return outbox._token;
    },
  };

  let running = null;
  let again = null;

  // JSON, or multipart/form-data when files go with it (the browser sets that type and its boundary).
  function encode(item) {
    if (!item.files?.length) return { type: "application/json", body: JSON.stringify(item.payload) };
    const form = new FormData();
    for (const [name, value] of Object.entries(item.payload)) {
      if (value !== null && value !== undefined) form.append(name, String(value));
    }
    for (const file of item.files) form.append(file.field, file.blob, file.name);
    return { type: null, body: form };
  }

  async function post(item, token) {
    const { type, body } = encode(item);
    const headers = { Accept: "application/json", "X-CSRFToken": token };
    if (type) headers["Content-Type"] = type;
    try {
      return await timedFetch(item.url, {
        method: "POST",
        credentials: "same-origin",
        cache: "no-store",
        redirect: "manual",
        headers,
        body,
      });
    } catch {
      throw new Stop(OFFLINE);
    }
  }

  // An entry queued by someone else on this phone waits for them to sign in again. Unknown on
  // either side (an older server, an entry from before) means there is nothing to compare.
  const belongsToCurrentUser = (item) => !item.owner || !outbox._user || item.owner === outbox._user;

  // Send one item; resolve with {status, data}, or {skip: true} if it is not the signed-in
  // person's. Throws Stop for conditions that end the flush.
  async function send(item, state) {
    const refresh = () => {
      state.refreshed = true;
      return outbox._refreshToken();
    };
    let token = outbox._token || (await refresh());
    // Someone else's, as far as we know? Who is signed in may have changed since the token was
    // fetched (the worker outlives sign-outs): ask once per flush before skipping it.
    if (!belongsToCurrentUser(item) && !state.refreshed) token = await refresh();
    if (!belongsToCurrentUser(item)) return { skip: true };
    let response = await post(item, token);
    if (response.status === 400) {
      // Usually an old or missing CSRF token (the session's token expires; the entry may have
      // waited for hours; the worker may hold a token from an earlier sign-in): get a fresh one
      // (which also says who is signed in now) and try once more.
      const fresh = await refresh();
      if (!belongsToCurrentUser(item)) return { skip: true };
      response = await post(item, fresh);
    }
    if (response.type === "opaqueredirect" || response.status === 401 || response.status === 403) {
      throw new Stop(SIGNED_OUT);
    }
    if (response.status === 429 || response.status >= 500) throw new Stop(BUSY, retryAfterMs(response));
    return { status: response.status, data: await readJson(response) };
  }

  async function bump(item, retryAfter = 0) {
    const attempts = (item.attempts || 0) + 1;
    const nextAttemptAt = Date.now() + backoff(attempts, retryAfter);
    await tx([QUEUE], "readwrite", async ({ [QUEUE]: store }) => {
      const current = await req(store.get(item.id));
      if (current) store.put({ ...current, attempts, nextAttemptAt });
    });
  }

  async function run({ force = true } = {}) {
    const result = { sent: [], failed: [], remaining: 0, stopped: null };
    const state = { refreshed: false };
    let items;
    try {
      items = await outbox.all();
    } catch (error) {
      console.warn("outbox unavailable:", error);
      result.stopped = "unavailable";
      return result;
    }
    for (const item of items) {
      if (!force && item.nextAttemptAt > Date.now()) continue;
      let outcome;
      try {
        outcome = await send(item, state);
      } catch (error) {
        if (!(error instanceof Stop)) throw error;
        result.stopped = error.reason;
        if (error.reason !== SIGNED_OUT) await bump(item, error.retryAfter).catch(() => {});
        break;
      }
      if (outcome.skip) continue;
      const { status, data } = outcome;
      if ((status === 200 || status === 201) && data && data.client_id === item.id) {
        await tx([QUEUE], "readwrite", ({ [QUEUE]: store }) => store.delete(item.id));
        const sent = { id: item.id, kind: item.kind, status, response: data };
        result.sent.push(sent);
        emit({ type: "sent", ...sent });
      } else if (status === 422 || status === 413) {
        // Refused for good (invalid, too large, or the id was used for something else): the person
        // cannot fix it by waiting. Keep it on the device, out of the queue, and say so.
        const failure = {
          ...item,
          status,
          error: data?.error ?? "Refused",
          message: data?.message ?? "",
          fields: data?.fields ?? {},
          failedAt: Date.now(),
        };
        await tx([QUEUE, FAILED], "readwrite", ({ [QUEUE]: queue, [FAILED]: failed }) => {
          failed.put(failure);
          queue.delete(item.id);
        });
        const report = { id: item.id, kind: item.kind, status, message: failure.message, fields: failure.fields };
        result.failed.push(report);
        emit({ type: "failed", ...report });
      } else {
        // Anything else (a 400 even with a fresh token, an unexpected answer): keep it, try later.
        await bump(item).catch(() => {});
      }
    }
    try {
      result.remaining = await outbox.count();
    } catch {
      result.remaining = items.length - result.sent.length - result.failed.length;
    }
    emit({ type: "flushed", stopped: result.stopped, remaining: result.remaining });
    return result;
  }

  self.aftercareOutbox = outbox;
})();
