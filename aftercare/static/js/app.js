// aftercare: small progressive enhancements. Every page works without this file;
// the CSP forbids inline script, so all behaviour hangs off data-* attributes.
// Module scripts are deferred, so the DOM is parsed by the time this runs.

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
