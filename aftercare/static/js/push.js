// Reminders on this device (web push): turning them on from a tap, keeping the server in step with
// the browser's real subscription on every app open, and stopping them at sign-out if asked.
//
// - Permission is asked only from the patient's tap (iOS allows nothing else), and on iOS only once
//   aftercare runs from the Home Screen: Safari in a tab cannot receive push at all.
// - subscribe() can hang when the push service is unreachable, so it races a timeout and says so.
// - The endpoint we registered is remembered in localStorage: if the browser later drops the
//   subscription or the permission, the next app open tells the server to stop sending to it.

import { delay, freshToken } from "./sync.js";

const ENDPOINT_KEY = "aftercare.push.endpoint";
const CHECKED_KEY = "aftercare.push.checked"; // once per app open (a tab's session)
const SUBSCRIBE_WAIT_MS = 15_000;
const READY_WAIT_MS = 8_000;

const supported = "serviceWorker" in navigator && "PushManager" in window && "Notification" in window;
const standalone = window.matchMedia("(display-mode: standalone)").matches || navigator.standalone === true;
const isIOS =
  /iPad|iPhone|iPod/.test(navigator.userAgent) || (navigator.platform === "MacIntel" && navigator.maxTouchPoints > 1);

const timeout = (ms, what) => delay(ms).then(() => Promise.reject(new Error(`${what} timed out`)));

async function registration() {
  return Promise.race([navigator.serviceWorker.ready, timeout(READY_WAIT_MS, "service worker")]);
}

async function post(path, body) {
  const response = await fetch(path, {
    method: "POST",
    credentials: "same-origin",
    headers: { "Content-Type": "application/json", Accept: "application/json", "X-CSRFToken": await freshToken() },
    body: JSON.stringify(body),
  });
  let data = {};
  try {
    data = await response.json();
  } catch {
    // an error page without JSON: the status says enough
  }
  return { ok: response.ok, status: response.status, data };
}

// "Chrome on Android", "Safari on iPhone": how the patient recognises this device in their list.
export function deviceName(agent = navigator.userAgent) {
  const browser = /Edg\//.test(agent)
    ? "Edge"
    : /Firefox\/|FxiOS/.test(agent)
      ? "Firefox"
      : /SamsungBrowser/.test(agent)
        ? "Samsung Internet"
        : /Chrome\/|CriOS|Chromium/.test(agent)
          ? "Chrome"
          : /Safari\//.test(agent)
            ? "Safari"
            : "Browser";
  const system = /iPhone/.test(agent)
    ? "iPhone"
    : /iPad/.test(agent) || (/Macintosh/.test(agent) && navigator.maxTouchPoints > 1)
      ? "iPad"
      : /Android/.test(agent)
        ? "Android"
        : /Windows/.test(agent)
          ? "Windows"
          : /Mac OS X|Macintosh/.test(agent)
            ? "Mac"
            : /Linux|CrOS/.test(agent)
              ? "Linux"
              : "this device";
  return `${browser} on ${system}`;
}

async function register(subscription) {
  const known = localStorage.getItem(ENDPOINT_KEY);
  const body = { ...subscription.toJSON(), name: deviceName() };
  if (known && known !== subscription.endpoint) body.replaces = known;
  const result = await post("/api/v1/devices", body);
  if (result.ok) localStorage.setItem(ENDPOINT_KEY, subscription.endpoint);
  return result;
}

async function forget(endpoint) {
  if (!endpoint) return;
  const result = await post("/api/v1/devices/forget", { endpoint });
  if (result.ok) localStorage.removeItem(ENDPOINT_KEY);
}

// Every app open: the server learns what the browser really has.
export async function reconcile() {
  const body = document.body;
  if (!supported || !(body.hasAttribute("data-patient") || body.hasAttribute("data-push-user"))) return;
  if (sessionStorage.getItem(CHECKED_KEY)) return;
  sessionStorage.setItem(CHECKED_KEY, "1");
  try {
    const subscription = await (await registration()).pushManager.getSubscription();
    const known = localStorage.getItem(ENDPOINT_KEY);
    if (subscription && Notification.permission === "granted") {
      await register(subscription);
    } else {
      if (subscription && Notification.permission === "denied") await subscription.unsubscribe();
      await forget(known);
    }
  } catch (error) {
    sessionStorage.removeItem(CHECKED_KEY); // offline or busy: try again on the next page
    console.warn("reminders: could not check this device:", error);
  }
}

// ---------------------------------------------------------------- Settings → Reminders

function settings(panel) {
  const key = panel.dataset.pushKey;
  const status = panel.querySelector("[data-push-status]");
  const say = (text) => {
    status.textContent = text;
  };
  const show = (state) => {
    for (const part of panel.querySelectorAll("[data-push-state]")) part.hidden = part.dataset.pushState !== state;
  };

  async function current() {
    if (!supported) return isIOS && !standalone ? "ios-install" : "unsupported";
    if (isIOS && !standalone) return "ios-install";
    if (Notification.permission === "denied") return "denied";
    try {
      const subscription = await (await registration()).pushManager.getSubscription();
      return subscription && Notification.permission === "granted" ? "on" : "off";
    } catch {
      return "off";
    }
  }

  panel.querySelector("[data-push-on]")?.addEventListener("click", async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    say("");
    try {
      // Straight from the tap, before anything else is awaited: iOS refuses a prompt that is not.
      const permission = await Notification.requestPermission();
      if (permission !== "granted") {
        show(permission === "denied" ? "denied" : "off");
        say(permission === "denied" ? "" : "Reminders stay off. You can turn them on here any time.");
        return;
      }
      say("Turning reminders on…");
      const worker = await registration();
      let subscription;
      try {
        subscription = await Promise.race([
          worker.pushManager.subscribe({ userVisibleOnly: true, applicationServerKey: key }),
          timeout(SUBSCRIBE_WAIT_MS, "subscribe"),
        ]);
      } catch (error) {
        console.warn("reminders: subscribe failed:", error);
        say("This device could not reach its notification service. Check the connection and try again.");
        return;
      }
      const result = await register(subscription);
      if (!result.ok) {
        await subscription.unsubscribe();
        say(result.data.message || "Reminders could not be turned on. Please try again.");
        return;
      }
      say("Turned on for this device.");
      window.location.reload(); // the device list shows it, with the test button
    } catch (error) {
      console.warn("reminders:", error);
      say("Something went wrong. Please try again in a moment.");
    } finally {
      button.disabled = false;
    }
  });

  panel.querySelector("[data-push-off]")?.addEventListener("click", async (event) => {
    const button = event.currentTarget;
    button.disabled = true;
    try {
      const subscription = await (await registration()).pushManager.getSubscription();
      const endpoint = subscription?.endpoint ?? localStorage.getItem(ENDPOINT_KEY);
      await subscription?.unsubscribe();
      await forget(endpoint);
      window.location.reload();
    } catch (error) {
      console.warn("reminders:", error);
      say("Reminders could not be turned off just now. Please try again when you are online.");
    } finally {
      button.disabled = false;
    }
  });

  current().then(show);
}

// ---------------------------------------------------------------- sign-out on More

// Shown only where this device gets reminders; the capture phase runs before app.js sends the outbox.
function signOut() {
  const known = localStorage.getItem(ENDPOINT_KEY);
  for (const choice of document.querySelectorAll("[data-push-signout]")) choice.hidden = !known;
  if (!known) return;
  document.addEventListener(
    "submit",
    async (event) => {
      const form = event.target;
      if (!(form instanceof HTMLFormElement) || !form.matches('form[action="/logout"]') || form.dataset.pushDone) return;
      const stop = form.querySelector('input[name="stop_reminders"]');
      if (!stop?.checked) return;
      event.preventDefault();
      event.stopImmediatePropagation();
      const field = form.querySelector("[data-push-endpoint]");
      if (field) field.value = known;
      try {
        const subscription = await Promise.race([
          registration().then((worker) => worker.pushManager.getSubscription()),
          delay(2_000).then(() => null),
        ]);
        await Promise.race([subscription?.unsubscribe(), delay(2_000)]);
      } catch {
        // the server stops sending to it whatever the browser does
      }
      localStorage.removeItem(ENDPOINT_KEY);
      form.dataset.pushDone = "1";
      form.requestSubmit(event.submitter);
    },
    true,
  );
}

if (supported) reconcile();
for (const panel of document.querySelectorAll("[data-push]")) settings(panel);
signOut();
