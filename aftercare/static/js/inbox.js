// The inbox on this phone: while online, the inbox page keeps a copy of its newest page in
// localStorage; offline, the service worker serves a page with no one's data in it (/inbox/offline)
// and this script fills it from that copy. The copy belongs to one account: it is removed at
// sign-out (app.js) and whenever someone else is signed in.

const KEY = "aftercare.inbox";

function saved() {
  try {
    return JSON.parse(localStorage.getItem(KEY) || "null");
  } catch {
    return null;
  }
}

async function keepCopy() {
  try {
    const response = await fetch("/api/v1/inbox", { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (!response.ok) return;
    const data = await response.json();
    localStorage.setItem(KEY, JSON.stringify({ ...data, saved_at: new Date().toISOString() }));
  } catch {
    // offline or busy: the copy from last time stays
  }
}

const when = (iso) =>
  new Date(iso).toLocaleString(undefined, { weekday: "short", day: "numeric", month: "short", hour: "2-digit", minute: "2-digit" });

// Built with textContent only: what a message says is never parsed as HTML.
function render(list, items) {
  for (const item of items) {
    const li = document.createElement("li");
    li.className = "card stack inbox-item";
    const meta = document.createElement("p");
    meta.className = "inbox-meta";
    const heading = document.createElement("strong");
    heading.textContent = item.heading;
    const time = document.createElement("time");
    time.dateTime = item.at;
    time.textContent = when(item.at);
    meta.append(heading, " ", time);
    const text = document.createElement("p");
    text.className = "inbox-text";
    text.textContent = item.text;
    li.append(meta, text);
    list.append(li);
  }
}

const online = document.querySelector("[data-inbox-online]");
if (online) keepCopy();

const offline = document.querySelector("[data-offline-inbox]");
if (offline) {
  const copy = saved();
  if (copy?.items?.length) {
    offline.querySelector("[data-offline-empty]").hidden = true;
    render(offline.querySelector("[data-offline-items]"), copy.items);
  }
}
