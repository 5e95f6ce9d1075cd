// aftercare: small progressive enhancements. Every page works without this file;
// the CSP forbids inline script, so all behaviour hangs off data-* attributes.
// Module scripts are deferred, so the DOM is parsed by the time this runs.

import { delay, flush, outbox, refreshFormToken } from "./sync.js";

// The worker is served from /sw.js (not /static/) so that it may control the whole app.
if ("serviceWorker" in navigator) {
  navigator.serviceWorker.register("/sw.js", { scope: "/" }).catch((error) => {
    console.warn("Service worker registration failed:", error);
  });
}

// Fill time-zone fields from the device, but never overwrite a value the server
// rendered on purpose (anything but empty/"UTC") or one the user already changed.
const deviceZone = Intl.DateTimeFormat().resolvedOptions().timeZone;
for (const field of document.querySelectorAll("input[data-timezone-default], select[data-timezone-default]")) {
  if (!deviceZone || (field.value && field.value !== "UTC")) continue;
  if (field instanceof HTMLSelectElement) {
    const option = [...field.options].find((o) => o.value === deviceZone);
    const untouched = [...field.options].every((o) => o.selected === o.defaultSelected);
    if (option && untouched) field.value = deviceZone;
  } else if (field.value === field.defaultValue) {
    field.value = deviceZone;
  }
}

// Install guidance. iOS has no beforeinstallprompt: people must use Share → Add to
// Home Screen, and web push only works once installed, so we show them the steps.
const standalone = window.matchMedia("(display-mode: standalone)").matches || navigator.standalone === true;
const isIOS =
  /iPad|iPhone|iPod/.test(navigator.userAgent) ||
  (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1); // iPadOS reports itself as a Mac
const isIOSSafari = isIOS && !/CriOS|FxiOS|EdgiOS|OPiOS/.test(navigator.userAgent);

const reveal = (selector, show = true) => {
  for (const el of document.querySelectorAll(selector)) el.hidden = !show;
};

if (standalone) reveal("[data-installed]");
if (isIOSSafari && !standalone) reveal("[data-install-ios]");

// Chromium fires beforeinstallprompt when the app is installable; keep the event
// so our own button can open the prompt later (it may be used only once).
let deferredPrompt = null;
window.addEventListener("beforeinstallprompt", (event) => {
  event.preventDefault();
  deferredPrompt = event;
  reveal("[data-install-button]");
});
window.addEventListener("appinstalled", () => {
  deferredPrompt = null;
  reveal("[data-install-button]", false);
  reveal("[data-installed]");
});
for (const button of document.querySelectorAll("[data-install-button]")) {
  button.addEventListener("click", async () => {
    if (!deferredPrompt) return;
    const prompt = deferredPrompt;
    deferredPrompt = null;
    reveal("[data-install-button]", false);
    await prompt.prompt();
  });
}

// The inbox copy kept for reading offline (inbox.js) belongs to one account: gone at sign-out, and
// gone when a page shows that someone else is signed in.
const INBOX_COPY = "aftercare.inbox";
try {
  const copy = JSON.parse(localStorage.getItem(INBOX_COPY) || "null");
  const user = document.body.dataset.user;
  if (copy && user && copy.user !== user) localStorage.removeItem(INBOX_COPY);
} catch {
  localStorage.removeItem(INBOX_COPY);
}
document.addEventListener(
  "submit",
  (event) => {
    if (event.target instanceof HTMLFormElement && event.target.matches('form[action="/logout"]')) {
      localStorage.removeItem(INBOX_COPY);
    }
  },
  true,
);

// Confirm destructive POSTs. Delegated on document so forms added later are covered too.
document.addEventListener("submit", (event) => {
  const form = event.target;
  const message = form instanceof HTMLFormElement ? form.dataset.confirm : undefined;
  if (message && !window.confirm(message)) event.preventDefault();
});

// Forms people write in (an intention, an edited entry, a clinician's note) may stay open for
// longer than a CSRF token lives (an hour), and a refused token would cost the text: the server
// answers 400 and pages are no-store, so Back shows an empty form. form[data-fresh-token] asks
// for a fresh token first, and does not post at all while offline, so what was written stays.
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!(form instanceof HTMLFormElement) || !("freshToken" in form.dataset) || form.dataset.tokenReady) return;
  event.preventDefault();
  if (!(await refreshFormToken(form))) {
    let status = form.querySelector("[data-form-status]");
    if (!status) {
      status = document.createElement("p");
      status.className = "form-status";
      status.setAttribute("role", "status");
      status.dataset.formStatus = "";
      form.append(status);
    }
    status.textContent = "You seem to be offline. What you wrote is still here: save it again when you are back online.";
    return;
  }
  form.dataset.tokenReady = "1";
  form.requestSubmit(event.submitter);
  delete form.dataset.tokenReady;
});

// A link to something folded inside a closed <details> (an older session, an earlier shared
// entry) opens it, in browsers that do not do so themselves.
function revealTarget() {
  const id = decodeURIComponent(window.location.hash.slice(1));
  const target = id && document.getElementById(id);
  if (!target) return;
  let opened = false;
  for (let node = target.parentElement; node; node = node.parentElement) {
    if (node.tagName === "DETAILS" && !node.open) {
      node.open = true;
      opened = true;
    }
  }
  if (opened) target.scrollIntoView();
}
window.addEventListener("hashchange", revealTarget);
revealTarget();

// Copy buttons: button[data-copy-target="#id"] copies the target's value or text.
for (const button of document.querySelectorAll("button[data-copy-target]")) {
  const label = button.textContent;
  let timer;
  button.addEventListener("click", async () => {
    const target = document.querySelector(button.dataset.copyTarget);
    if (!target) return;
    const text = ("value" in target && typeof target.value === "string" ? target.value : target.textContent).trim();
    try {
      await navigator.clipboard.writeText(text);
      button.textContent = "Copied";
    } catch {
      // Clipboard API needs a secure context and permission; fall back to
      // selecting the text so the person can copy it by hand.
      if (typeof target.select === "function") {
        target.select();
      } else {
        const range = document.createRange();
        range.selectNodeContents(target);
        window.getSelection().removeAllRanges();
        window.getSelection().addRange(range);
      }
      button.textContent = "Selected: copy it now";
    }
    clearTimeout(timer);
    timer = setTimeout(() => {
      button.textContent = label;
    }, 2000);
  });
}

const FLUSH_EVERY_MS = 30_000;
const SIGN_OUT_WAIT_MS = 8_000;
const plural = (n, one, many) => (n === 1 ? one : many.replace("{n}", n));

// Sign-out (OFF-06): entries still on this device are sent first, or the person decides.
let signingOut = false;
document.addEventListener("submit", async (event) => {
  const form = event.target;
  if (!outbox || signingOut || !(form instanceof HTMLFormElement) || !form.matches('form[action="/logout"]')) return;
  event.preventDefault();
  let remaining = 0;
  try {
    // A database that does not answer must not keep anyone from signing out.
    remaining = await Promise.race([outbox.count(), delay(2_000).then(() => 0)]);
    if (remaining > 0) {
      await Promise.race([outbox.flush(), delay(SIGN_OUT_WAIT_MS)]);
      remaining = await outbox.count();
    }
  } catch {
    remaining = 0; // no outbox to lose
  }
  if (remaining > 0) {
    const entries = plural(remaining, "1 entry is", "{n} entries are");
    const message =
      `${entries} saved only on this device and could not be sent yet. ` +
      `${remaining === 1 ? "It" : "They"} will be sent the next time you sign in on this device. Sign out anyway?`;
    if (!window.confirm(message)) return;
  }
  signingOut = true;
  form.submit();
});

// When to send, from any page: now, on reconnecting, on coming back to the page, every 30 s, and (in
// Chromium) through Background Sync even after the page is closed (mood.js and journal.js register it).
if (outbox) {
  flush();
  window.addEventListener("online", () => flush());
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") flush();
  });
  setInterval(() => flush({ force: false }), FLUSH_EVERY_MS);
}

// "Print a one-page summary" on the record: the print stylesheet chooses what goes on the page.
for (const button of document.querySelectorAll("button[data-print]")) {
  button.hidden = false;
  button.addEventListener("click", () => window.print());
}
