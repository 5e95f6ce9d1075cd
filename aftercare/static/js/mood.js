// aftercare's one-tap mood log on Today (OFF-01..06): a tap is written to the IndexedDB outbox first and
// acknowledged on screen at once ("Saved on this device."); only when the server answers does the page
// say the care team can see it. Without this script the same form posts to /mood and works as before.

import { crisisMatcher } from "./crisis.js";
import { go, outbox, registerSync, sendNow } from "./sync.js";

const plural = (n, one, many) => (n === 1 ? one : many.replace("{n}", n));

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

    const result = await sendNow(crisis, () => mine.has(payload.client_id));
    if (!crisis && mine.has(payload.client_id)) {
      let remaining = result?.remaining;
      if (remaining === undefined) remaining = await outbox.count().catch(() => 1);
      showWaiting(result?.stopped ?? (navigator.onLine ? null : "offline"), Math.max(1, remaining));
    }
  });
}


// Entries from an earlier visit still waiting: say so once the first flush (in app.js) reports.
if (outbox && moodForm) {
  outbox.count().then((remaining) => {
    if (remaining > 0) {
      showWaiting(navigator.onLine ? null : "offline", remaining, false);
      registerSync();
    }
  }, () => {});
}
