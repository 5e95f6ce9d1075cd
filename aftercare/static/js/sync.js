// What every page that writes shares: the offline outbox, a fresh CSRF token before a post, Background
// Sync, and leaving for a page (support, crisis help) exactly once.

// The offline outbox (a plain script shared with the service worker): defines self.aftercareOutbox.
import "./outbox.js";

export const outbox = self.aftercareOutbox;
export const SYNC_TAG = "aftercare-outbox"; // the service worker listens for this tag

export const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

// A form may stay open longer than a CSRF token lives (an hour), and a refused token would cost what
// was written (the server answers 400, and pages are no-store, so Back shows an empty form).
export async function freshToken() {
  const response = await fetch("/api/v1/csrf", {
    credentials: "same-origin",
    cache: "no-store",
    headers: { Accept: "application/json" },
  });
  if (!response.ok) throw new Error(`csrf ${response.status}`);
  return (await response.json()).csrf_token;
}

// Put a fresh token in a form before it posts. False when offline (the form must not post: the
// offline page would replace what was written); signed out, the form posts as it is and the server
// says what to do.
export async function refreshFormToken(form) {
  let token;
  try {
    token = await freshToken();
  } catch (error) {
    return !(error instanceof TypeError); // fetch rejects with a TypeError only when there is no network
  }
  const field = form.querySelector('input[name="csrf_token"]');
  if (field) field.value = token;
  return true;
}

export async function registerSync() {
  try {
    if (!("serviceWorker" in navigator)) return;
    const registration = await navigator.serviceWorker.getRegistration();
    if (registration?.active && "sync" in registration) await registration.sync.register(SYNC_TAG);
  } catch {
    // No Background Sync here (Safari, Firefox) or not allowed: the page's own triggers remain.
  }
}

export async function flush(options) {
  if (!outbox) return null;
  try {
    return await outbox.flush(options);
  } catch (error) {
    console.warn("outbox flush failed:", error);
    return null;
  }
}

const CRISIS_WAIT_MS = 4_000; // how long crisis words wait for the server before /crisis opens

// Send what was just saved on this device. Crisis words put resources first: if the server has not
// answered soon (offline, busy), /crisis opens, which the worker keeps for offline use; the entry
// stays queued and is sent later. Resolves with the flush's result (null after crisis words).
export async function sendNow(crisis, stillWaiting) {
  registerSync();
  const flushing = flush();
  if (!crisis) return flushing;
  await Promise.race([flushing, delay(CRISIS_WAIT_MS)]);
  if (stillWaiting()) go("/crisis");
  return null;
}

let leaving = false;
export function go(url) {
  if (leaving) return;
  leaving = true;
  window.location.assign(url);
}
