// aftercare: small progressive enhancements. Every page works without this file;
// the CSP forbids inline script, so all behaviour hangs off data-* attributes.
// Module scripts are deferred, so the DOM is parsed by the time this runs.

// The offline outbox (a plain script shared with the service worker): defines self.aftercareOutbox.
import "./outbox.js";
import { crisisMatcher } from "./crisis.js";

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
  const say = (text) => {
    let status = form.querySelector("[data-form-status]");
    if (!status) {
      status = document.createElement("p");
      status.className = "form-status";
      status.setAttribute("role", "status");
      status.dataset.formStatus = "";
      form.append(status);
    }
    status.textContent = text;
  };
  try {
    const response = await fetch("/api/v1/csrf", {
      credentials: "same-origin",
      cache: "no-store",
      headers: { Accept: "application/json" },
    });
    const field = form.querySelector('input[name="csrf_token"]');
    // Signed out (401): post as it is, and the server says what to do.
    if (response.ok && field) field.value = (await response.json()).csrf_token;
  } catch {
    say("You seem to be offline. What you wrote is still here: save it again when you are back online.");
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

// ------------------------------------------------------------------ offline-first mood log (OFF-01..06)
//
// A tap on the mood scale is written to the IndexedDB outbox first and acknowledged on screen at
// once ("Saved on this device."); only when the server answers does the page say the care team
// can see it. Without this script the same form posts to /mood and works as before.

const outbox = self.aftercareOutbox;
const SYNC_TAG = "aftercare-outbox";
const FLUSH_EVERY_MS = 30_000;
const CRISIS_WAIT_MS = 4_000; // how long crisis words wait for the server before /crisis opens
const SIGN_OUT_WAIT_MS = 8_000;

const delay = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
const plural = (n, one, many) => (n === 1 ? one : many.replace("{n}", n));

let leaving = false;
function go(url) {
  if (leaving) return;
  leaving = true;
  window.location.assign(url);
}

async function registerSync() {
  try {
    if (!("serviceWorker" in navigator)) return;
    const registration = await navigator.serviceWorker.getRegistration();
    if (registration?.active && "sync" in registration) await registration.sync.register(SYNC_TAG);
  } catch {
    // No Background Sync here (Safari, Firefox) or not allowed: the page's own triggers remain.
  }
}

async function flush(options) {
  if (!outbox) return null;
  try {
    return await outbox.flush(options);
  } catch (error) {
    console.warn("outbox flush failed:", error);
    return null;
  }
}

const moodForm = document.querySelector('form[data-outbox="mood"]');
const moodStatus = moodForm?.querySelector("[data-outbox-status]") ?? document.querySelector("[data-outbox-status]");

// Entries tapped on this page that the server has not acknowledged yet: id -> {crisis}.
const mine = new Map();
let waiting = false; // the status says entries are waiting on this device
let lastStop = null;
const backlogSent = new Set(); // entries from earlier visits sent while this page is open
const acknowledged = new Set(); // every id the server acknowledged while this page is open

function say(text) {
  if (moodStatus) moodStatus.textContent = text;
}

function waitingText(reason, remaining, justSaved) {
  const when =
    {
      offline: "It will be sent when you are back online.",
      busy: "It will be sent in a moment.",
      "signed-out": "It will be sent once you sign in again.",
    }[reason] ?? "It will be sent later.";
  const count = plural(remaining, "1 entry is waiting to be sent.", "{n} entries are waiting to be sent.");
  if (justSaved) return `Saved on this device. ${when} ${count}`;
  return `${count} ${when.replace("It", remaining === 1 ? "It" : "They")}`;
}

function showWaiting(reason, remaining, justSaved = true) {
  if (!moodForm || remaining < 1) return;
  waiting = true;
  lastStop = reason;
  say(waitingText(reason, remaining, justSaved));
}

function showAcknowledged() {
  waiting = false;
  say("Saved. Your care team can see it.");
}

if (outbox && moodForm) {
  outbox.subscribe((event) => {
    if (event.type === "sent") {
      // The page and the worker may both send an entry (the server keeps one): report it once.
      if (acknowledged.has(event.id)) return;
      acknowledged.add(event.id);
      const entry = mine.get(event.id);
      mine.delete(event.id);
      if (entry) showAcknowledged();
      else backlogSent.add(event.id);
      // The server read the note too: crisis words bring up the patient's support page. Entries
      // sent by another tab or the worker are left to them, unless they were tapped here.
      if (event.response?.crisis && (entry || !event.remote)) go("/support");
      else if (entry?.crisis) go("/support");
    } else if (event.type === "failed") {
      const entry = mine.get(event.id);
      mine.delete(event.id);
      waiting = false;
      const why = Object.values(event.fields ?? {}).join(" ") || event.message || "";
      const reason = why ? ` ${why}` : "";
      say(
        entry
          ? `This entry could not be saved.${reason} Please try again.`
          : `An entry saved on this device earlier could not be sent.${reason}`,
      );
      if (entry?.crisis) go("/crisis");
    } else if (event.type === "flushed") {
      if (event.remaining === 0 && backlogSent.size > 0 && mine.size === 0) {
        waiting = false;
        say(
          plural(
            backlogSent.size,
            "An entry saved on this device has been sent. Your care team can see it.",
            "{n} entries saved on this device have been sent. Your care team can see them.",
          ),
        );
        backlogSent.clear();
      } else if (waiting) {
        if (event.remaining === 0) showAcknowledged();
        else showWaiting(event.stopped ?? lastStop, event.remaining, mine.size > 0);
      }
    }
  });

  const isCrisis = crisisMatcher();
  const clientIdField = moodForm.querySelector('input[name="client_id"]');
  let lastScoreButton = null;
  let plainSubmit = false;

  // event.submitter is missing in older Safari: remember which score button was pressed.
  moodForm.addEventListener("click", (event) => {
    const button = event.target.closest?.('button[name="score"]');
    if (button) lastScoreButton = button;
  });

  moodForm.addEventListener("submit", async (event) => {
    if (plainSubmit) return; // the outbox is unavailable: let the form post to /mood
    const submitter = event.submitter ?? lastScoreButton;
    if (!submitter || submitter.name !== "score") return;
    event.preventDefault();

    const data = new FormData(moodForm);
    const note = String(data.get("note") ?? "");
    const payload = {
      client_id: clientIdField?.value || crypto.randomUUID(),
      score: Number(submitter.value),
      note,
      tags: data.getAll("tags").map(String),
      recorded_at: new Date().toISOString(),
    };
    // A fresh id before anything waits, so a second quick tap is a second entry, not a replay.
    if (clientIdField) clientIdField.value = crypto.randomUUID();

    try {
      await outbox.add("mood", payload, { owner: moodForm.dataset.outboxOwner || undefined });
    } catch (error) {
      console.warn("outbox unavailable, posting the form instead:", error);
      if (clientIdField) clientIdField.value = payload.client_id;
      plainSubmit = true;
      moodForm.requestSubmit(submitter);
      return;
    }

    const crisis = isCrisis(note);
    mine.set(payload.client_id, { crisis });
    say("Saved on this device.");
    const noteField = moodForm.querySelector('textarea[name="note"]');
    if (noteField) noteField.value = "";
    for (const box of moodForm.querySelectorAll('input[name="tags"]')) box.checked = false;
    registerSync();

    const flushing = flush();
    if (crisis) {
      // Resources first: if the server has not answered soon (offline, busy), open /crisis, which
      // the worker keeps for offline use. The entry stays queued and is sent later.
      await Promise.race([flushing, delay(CRISIS_WAIT_MS)]);
      if (mine.has(payload.client_id)) go("/crisis");
      return;
    }
    const result = await flushing;
    if (mine.has(payload.client_id)) {
      let remaining = result?.remaining;
      if (remaining === undefined) remaining = await outbox.count().catch(() => 1);
      showWaiting(result?.stopped ?? (navigator.onLine ? null : "offline"), Math.max(1, remaining));
    }
  });
}

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

// When to send: now, on reconnecting, on coming back to the page, every 30 s, and (in Chromium)
// through Background Sync even after the page is closed.
if (outbox) {
  flush().then((result) => {
    if (result?.remaining > 0) {
      showWaiting(result.stopped, result.remaining, false);
      registerSync();
    }
  });
  window.addEventListener("online", () => flush());
  document.addEventListener("visibilitychange", () => {
    if (document.visibilityState === "visible") flush();
  });
  setInterval(() => flush({ force: false }), FLUSH_EVERY_MS);
}
