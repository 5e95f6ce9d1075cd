// aftercare journal pages: an entry goes to the offline outbox first (like a mood tap), with the
// drawings and pictures added to it, and voice notes are recorded in the browser (MediaRecorder) and
// uploaded. Loaded only by /journal pages; both pages work without it (the form posts, the file
// fields upload).

import { crisisMatcher } from "./crisis.js";
import { drawingPad } from "./drawing.js";
import { freshToken, go, outbox, refreshFormToken, sendNow } from "./sync.js";

const MAX_SECONDS = 5 * 60;
// The server takes only UUIDs as client ids; the outbox makes them even without crypto.randomUUID.
const newId = () => outbox.newId();
const clock = (seconds) => {
  const whole = Math.max(0, Math.floor(seconds));
  return `${Math.floor(whole / 60)}:${String(whole % 60).padStart(2, "0")}`;
};

// ------------------------------------------------------------------ drawings and pictures in an entry

// Photos are made smaller on the phone before they wait in the outbox: the server keeps at most
// this many pixels on the long side anyway, and a phone's 4 MB photo becomes a few hundred kB.
const LONG_SIDE = 2048;
const NOT_A_PICTURE =
  "This file could not be opened as a picture. Pictures must be JPEG, PNG or WebP; please choose another one.";

// Decode a chosen file (turned the way its camera said) and draw it again, smaller, as a JPEG. Null if
// it is not a picture this browser can open; the file itself where the browser cannot do this.
async function shrink(file) {
  if (typeof createImageBitmap !== "function") return file;
  let bitmap;
  try {
    bitmap = await createImageBitmap(file, { imageOrientation: "from-image" });
  } catch {
    return null;
  }
  const scale = Math.min(1, LONG_SIDE / Math.max(bitmap.width, bitmap.height));
  const canvas = document.createElement("canvas");
  canvas.width = Math.max(1, Math.round(bitmap.width * scale));
  canvas.height = Math.max(1, Math.round(bitmap.height * scale));
  const context = canvas.getContext("2d");
  context.fillStyle = "#ffffff"; // a transparent picture on white, as the server keeps it
  context.fillRect(0, 0, canvas.width, canvas.height);
  context.drawImage(bitmap, 0, 0, canvas.width, canvas.height);
  bitmap.close?.();
  return new Promise((resolve) => canvas.toBlob((blob) => resolve(blob), "image/jpeg", 0.9));
}

function attachPictures(box) {
  const max = Number(box.dataset.max) || 4;
  const list = box.querySelector("[data-pictures-list]");
  const status = box.querySelector("[data-pictures-status]");
  const buttons = box.querySelector("[data-pictures-buttons]");
  const fallback = box.querySelector("[data-pictures-fallback]");
  const fallbackInput = fallback.querySelector('input[type="file"]');
  const drawBox = box.querySelector("[data-draw]");
  const drawOpen = box.querySelector("[data-draw-open]");
  let items = []; // {field: "photo" | "drawing", blob, name, url}: added to this entry, not sent yet

  const say = (text) => {
    status.textContent = text;
  };
  const label = (item, index) => `${item.field === "drawing" ? "Drawing" : "Picture"} ${index + 1}`;

  function render() {
    list.replaceChildren(
      ...items.map((item, index) => {
        const row = document.createElement("li");
        const image = document.createElement("img");
        image.src = item.url;
        image.alt = label(item, index);
        const remove = document.createElement("button");
        remove.type = "button";
        remove.className = "button secondary";
        remove.textContent = "Remove";
        const which = document.createElement("span");
        which.className = "sr-only";
        which.textContent = ` ${label(item, index).toLowerCase()}`;
        remove.append(which);
        remove.addEventListener("click", () => {
          URL.revokeObjectURL(item.url);
          items = items.filter((other) => other !== item);
          render();
          say(`${label(item, index)} removed.`);
          (list.querySelector("button") ?? drawOpen).focus();
        });
        row.append(image, remove);
        return row;
      }),
    );
    list.hidden = items.length === 0;
    const full = items.length >= max;
    for (const button of buttons.querySelectorAll("button")) button.disabled = full;
    if (full) {
      drawBox.hidden = true;
      drawOpen.setAttribute("aria-expanded", "false");
    }
  }

  function add(field, blob, name) {
    if (items.length >= max) {
      say(`An entry can hold up to ${max} pictures or drawings. The rest can go in another entry.`);
      return false;
    }
    items.push({ field, blob, name, url: URL.createObjectURL(blob) });
    render();
    return true;
  }

  const pad = drawingPad(drawBox);

  async function addDrawing() {
    if (!pad.hasDrawing()) return;
    if (add("drawing", await pad.toBlob(), "drawing.png")) {
      pad.reset();
      drawBox.hidden = true;
      drawOpen.setAttribute("aria-expanded", "false");
      drawOpen.textContent = "Draw another";
      say("Your drawing is added to this entry.");
    }
  }

  drawOpen.addEventListener("click", () => {
    const open = drawBox.hidden;
    drawBox.hidden = !open;
    drawOpen.setAttribute("aria-expanded", String(open));
    if (open) drawBox.scrollIntoView({ block: "nearest" });
  });
  drawBox.querySelector("[data-draw-add]").addEventListener("click", async () => {
    await addDrawing();
    drawOpen.focus();
  });

  for (const picker of box.querySelectorAll("[data-picker]")) {
    box.querySelector(`[data-pick="${picker.dataset.picker}"]`).addEventListener("click", () => picker.click());
    picker.addEventListener("change", async () => {
      const files = [...picker.files];
      picker.value = "";
      let added = 0;
      for (const file of files) {
        const blob = await shrink(file);
        if (!blob) {
          say(NOT_A_PICTURE);
          continue;
        }
        if (!add("photo", blob, blob === file ? file.name || "picture" : "photo.jpg")) break;
        added += 1;
      }
      if (added) say(added === 1 ? "The picture is added to this entry." : `${added} pictures are added to this entry.`);
    });
  }

  buttons.hidden = false;
  fallback.hidden = true;
  render();

  return {
    /** Something added or drawn that would be lost by leaving. */
    hasWork: () => items.length > 0 || pad.hasDrawing(),
    /** A drawing on the paper but not added yet goes with the entry: nothing drawn is left behind. */
    keepDrawing: addDrawing,
    /** Hand the pictures to the entry being saved; the list is empty for the next one. */
    take() {
      const taken = items;
      items = [];
      render();
      return taken;
    },
    /** Give back the pictures of an entry that could not be saved. */
    restore(taken) {
      items = [...taken, ...items].slice(0, max);
      render();
    },
    /** Put the pictures in the form's own file fields, for a plain post (no outbox on this phone). */
    intoForm(form) {
      try {
        for (const field of ["photo", "drawing"]) {
          const files = new DataTransfer();
          for (const item of items.filter((each) => each.field === field)) {
            files.items.add(new File([item.blob], item.name, { type: item.blob.type }));
          }
          let input = field === "photo" ? fallbackInput : form.querySelector('input[name="drawing"]');
          if (!input && files.items.length) {
            input = Object.assign(document.createElement("input"), { type: "file", name: "drawing", hidden: true });
            form.append(input);
          }
          if (input) input.files = files.files;
        }
      } catch (error) {
        console.warn("pictures could not go with the form:", error);
      }
    },
  };
}

// ------------------------------------------------------------------ a new entry, through the outbox

const entryForm = document.querySelector("form[data-journal-form]");

if (entryForm && outbox) {
  const status = entryForm.querySelector("[data-journal-status]");
  const bodyField = entryForm.querySelector('textarea[name="body"]');
  const clientIdField = entryForm.querySelector('input[name="client_id"]');
  const picturesBox = entryForm.querySelector("[data-pictures]");
  const pictures = picturesBox ? attachPictures(picturesBox) : null;
  const isCrisis = crisisMatcher();
  // client_id -> {crisis, body, pictures}: entries written on this page, not yet acknowledged
  const mine = new Map();
  let plainSubmit = false;

  const say = (text) => {
    if (status) status.textContent = text;
  };

  outbox.subscribe((event) => {
    if (event.kind !== "journal" || !mine.has(event.id)) return;
    const entry = mine.get(event.id);
    mine.delete(event.id);
    if (event.type === "sent") {
      if (event.response?.crisis || entry.crisis) go("/support");
      else go(`/journal#entry-${event.response?.id ?? ""}`);
    } else if (event.type === "failed") {
      // Refused for good (too long, an old page): give the text back, so nothing written is lost.
      if (bodyField && !bodyField.value) bodyField.value = entry.body;
      pictures?.restore(entry.pictures);
      const why = Object.values(event.fields ?? {}).join(" ") || event.message || "";
      say(`This entry could not be saved. ${why}`.trim());
      if (entry.crisis) go("/crisis");
    }
  });

  // Without the outbox, the form posts as it would without this script, with two differences: a
  // fresh CSRF token (writing can take longer than a token lives, and a refusal would cost the
  // text), and no posting while offline (the offline page would replace what was written).
  async function postForm() {
    if (!(await refreshFormToken(entryForm))) {
      say("You seem to be offline. What you wrote is still here: save it again when you are back online.");
      return;
    }
    plainSubmit = true;
    pictures?.intoForm(entryForm);
    entryForm.requestSubmit();
  }

  // Leaving with unsaved writing, a drawing or pictures asks first.
  window.addEventListener("beforeunload", (event) => {
    if (!plainSubmit && (bodyField?.value.trim() || pictures?.hasWork())) event.preventDefault();
  });

  entryForm.addEventListener("submit", async (event) => {
    if (plainSubmit) return; // no outbox here (or it does not take journal entries): post the form
    event.preventDefault();
    const data = new FormData(entryForm);
    const body = String(data.get("body") ?? "");
    await pictures?.keepDrawing();
    const attached = pictures?.take() ?? [];
    if (!body.trim() && !attached.length) {
      say("Write something first, or add a drawing or a picture, or record a voice note.");
      bodyField?.focus();
      return;
    }
    const session = String(data.get("session_id") ?? "");
    const payload = {
      client_id: clientIdField?.value || newId(),
      body,
      prompt: String(data.get("prompt") ?? ""),
      session_id: session ? Number(session) : null,
    };
    const files = attached.map(({ field, blob, name }) => ({ field, blob, name }));
    try {
      await outbox.add("journal", payload, { files });
    } catch (error) {
      console.warn("outbox unavailable for journal entries, posting the form instead:", error);
      pictures?.restore(attached);
      await postForm();
      return;
    }
    // A fresh id before anything else, so the next entry is a new one, not a replay of this one.
    if (clientIdField) clientIdField.value = newId();
    const crisis = isCrisis(body);
    mine.set(payload.client_id, { crisis, body, pictures: attached });
    if (bodyField) bodyField.value = "";
    say("Saved on this device.");

    const result = await sendNow(crisis, () => mine.has(payload.client_id));
    if (!crisis && mine.has(payload.client_id)) {
      const when =
        result?.stopped === "signed-out"
          ? "It will be sent once you sign in again."
          : "It will be sent when you are back online.";
      say(`Saved on this device. ${when} Only you can see it until you share it.`);
    }
  });
}

// ------------------------------------------------------------------ drafts waiting on this device

const drafts = document.querySelector("[data-journal-drafts]");

if (drafts && outbox) {
  const list = drafts.querySelector("[data-journal-draft-list]");
  let sentHere = 0;

  // The entry's words, and what pictures go with it.
  const describe = (item) => {
    const text = item.payload.body ?? "";
    const drawings = (item.files ?? []).filter((file) => file.field === "drawing").length;
    const photos = (item.files ?? []).length - drawings;
    const extras = [
      drawings && (drawings === 1 ? "a drawing" : `${drawings} drawings`),
      photos && (photos === 1 ? "a picture" : `${photos} pictures`),
    ].filter(Boolean);
    const short = text.length > 160 ? `${text.slice(0, 159)}…` : text;
    if (!extras.length) return short;
    const withPictures = `with ${extras.join(" and ")}`;
    return short.trim() ? `${short} (${withPictures})` : `An entry ${withPictures}`;
  };

  const row = (text, note) => {
    const item = document.createElement("li");
    const body = document.createElement("span");
    body.className = "entry-body";
    body.textContent = text;
    item.append(body);
    if (note) {
      const why = document.createElement("span");
      why.className = "entry-note small";
      why.textContent = note;
      item.append(why);
    }
    return item;
  };

  async function show() {
    let waiting = [];
    let refused = [];
    try {
      waiting = (await outbox.all()).filter((item) => item.kind === "journal");
      refused = (await outbox.failed()).filter((item) => item.kind === "journal");
    } catch {
      return; // no IndexedDB here: nothing can be waiting either
    }
    list.replaceChildren(
      ...waiting.map((item) => row(describe(item))),
      ...refused.map((item) => row(describe(item), `Could not be sent: ${item.message || item.error}`)),
    );
    if (sentHere > 0) {
      const link = document.createElement("a");
      link.href = window.location.pathname;
      link.textContent = sentHere === 1 ? "An entry was sent: show it" : `${sentHere} entries were sent: show them`;
      const item = document.createElement("li");
      item.append(link);
      list.append(item);
    }
    drafts.hidden = list.children.length === 0;
  }

  outbox.subscribe((event) => {
    if (event.type === "sent" && event.kind === "journal") sentHere += 1;
    if (event.type === "queued" || event.type === "flushed" || event.type === "failed") show();
  });
  show();
}

// ------------------------------------------------------------------ voice notes

const voice = document.querySelector("[data-voice]");
const canRecord =
  typeof window.MediaRecorder === "function" && typeof navigator.mediaDevices?.getUserMedia === "function";

if (voice && canRecord) {
  // The recorder's parts, by their data-voice-* attribute: parts.start is [data-voice-start].
  const names = ["recorder", "fallback", "start", "stop", "timer", "elapsed", "status", "result", "audio", "save"];
  const parts = Object.fromEntries(
    [...names, "discard", "saved"].map((name) => [name, voice.querySelector(`[data-voice-${name}]`)]),
  );
  const { fallback, timer, status, result, saved } = parts;
  const [recorderBox, startButton, stopButton, elapsedText] = [parts.recorder, parts.start, parts.stop, parts.elapsed];
  const [player, saveButton, discardButton] = [parts.audio, parts.save, parts.discard];
  const clientIdField = fallback?.querySelector('input[name="client_id"]');
  const sessionField = fallback?.querySelector('input[name="session_id"]');
  let csrfToken = fallback?.querySelector('input[name="csrf_token"]')?.value ?? "";

  // Opus in WebM where the browser can (Chromium, Firefox), else MP4 (Safari).
  const TYPES = ["audio/webm;codecs=opus", "audio/webm", "audio/mp4", "audio/ogg;codecs=opus"];
  const mimeType = TYPES.find((type) => MediaRecorder.isTypeSupported?.(type)) ?? "";

  let stream = null;
  let recorder = null;
  let chunks = [];
  let startedAt = 0;
  let ticking = null;
  let recording = null; // {blob, seconds, url, clientId}: recorded, not saved yet
  let uploading = false;

  const say = (text) => {
    status.textContent = text;
  };
  recorderBox.hidden = false;
  fallback.hidden = true;

  const release = () => {
    for (const track of stream?.getTracks() ?? []) track.stop();
    stream = null;
  };

  const forget = () => {
    if (recording?.url) URL.revokeObjectURL(recording.url);
    recording = null;
    player.removeAttribute("src");
    result.hidden = true;
  };

  // One player: the recording before it is saved, then the saved copy from the server.
  const showResult = (isSaved) => {
    saveButton.hidden = isSaved;
    discardButton.hidden = isSaved;
    saved.hidden = !isSaved;
    player.setAttribute("aria-label", isSaved ? "Your saved voice note" : "Your recording, not saved yet");
    result.hidden = false;
  };

  async function start() {
    forget();
    try {
      stream = await navigator.mediaDevices.getUserMedia({ audio: true });
    } catch (error) {
      console.warn("microphone unavailable:", error);
      say(
        "aftercare could not use the microphone. Allow it for this site in your browser's settings, " +
          "or choose a recording from your phone below.",
      );
      fallback.hidden = false;
      return;
    }
    try {
      recorder = new MediaRecorder(stream, { ...(mimeType ? { mimeType } : {}), audioBitsPerSecond: 64_000 });
    } catch {
      recorder = new MediaRecorder(stream);
    }
    chunks = [];
    recorder.addEventListener("dataavailable", (event) => {
      if (event.data?.size) chunks.push(event.data);
    });
    recorder.addEventListener("stop", finish, { once: true });
    // A timeslice gathers the recording in pieces, so a long one is not held in one buffer.
    recorder.start(1_000);
    startedAt = performance.now();
    elapsedText.textContent = clock(0);
    timer.hidden = false;
    startButton.hidden = true;
    stopButton.hidden = false;
    stopButton.focus();
    say("Recording. Tap Stop recording when you are done.");
    ticking = setInterval(() => {
      const seconds = (performance.now() - startedAt) / 1000;
      elapsedText.textContent = clock(seconds);
      if (seconds >= MAX_SECONDS) stop("Five minutes is the longest a voice note can be, so the recording stopped.");
    }, 250);
  }

  let stopMessage = "";
  function stop(message = "") {
    if (!recorder || recorder.state === "inactive") return;
    stopMessage = message;
    clearInterval(ticking);
    recorder.stop();
    release();
  }

  function finish() {
    const seconds = Math.min(MAX_SECONDS, (performance.now() - startedAt) / 1000);
    const type = (recorder.mimeType || mimeType || "audio/webm").split(";")[0];
    const blob = new Blob(chunks, { type });
    recorder = null;
    chunks = [];
    stopButton.hidden = true;
    startButton.hidden = false;
    startButton.textContent = "Start a new recording";
    timer.hidden = true;
    const url = URL.createObjectURL(blob);
    recording = { blob, seconds, url, type, clientId: clientIdField?.value || newId() };
    player.src = url;
    showResult(false);
    say(`${stopMessage} Recorded ${clock(seconds)}. Listen if you like, then save it or record again.`.trim());
    saveButton.focus();
  }

  function post(token) {
    const extension = { "audio/mp4": "m4a", "audio/ogg": "ogg" }[recording.type] ?? "webm";
    const data = new FormData();
    data.append("audio", recording.blob, `voice-note.${extension}`);
    data.append("client_id", recording.clientId);
    data.append("duration", recording.seconds.toFixed(2));
    data.append("session_id", sessionField?.value ?? "");
    data.append("csrf_token", token);
    return fetch(voice.dataset.uploadUrl, {
      method: "POST",
      body: data,
      credentials: "same-origin",
      redirect: "manual",
      headers: { Accept: "application/json", "X-CSRFToken": token },
    });
  }

  async function save() {
    if (!recording || uploading) return;
    uploading = true;
    saveButton.disabled = true;
    say("Saving your voice note…");
    let response;
    try {
      response = await post(csrfToken);
      // 400 is usually a CSRF token that expired while the page was open: fetch a fresh one, once.
      if (response.status === 400) {
        csrfToken = await freshToken();
        response = await post(csrfToken);
      }
    } catch {
      say("You seem to be offline. Your recording is still here: tap Save again when you are back online.");
      uploading = false;
      saveButton.disabled = false;
      return;
    }
    uploading = false;
    saveButton.disabled = false;
    let answer = null;
    try {
      answer = await response.json();
    } catch {
      answer = null;
    }
    if (response.status === 200 || response.status === 201) {
      URL.revokeObjectURL(recording.url);
      recording = null;
      if (clientIdField) clientIdField.value = newId();
      player.src = answer.url;
      showResult(true);
      say(`Saved: a voice note of ${clock(answer.duration)}. Only you can hear it until you share it.`);
      startButton.focus();
    } else if (response.type === "opaqueredirect" || response.status === 401 || response.status === 403) {
      say("You were signed out. Sign in again in another tab, then tap Save again: your recording is still here.");
    } else {
      say(answer?.message || "This recording could not be saved. Please try again.");
    }
  }

  startButton.addEventListener("click", start);
  stopButton.addEventListener("click", () => stop());
  saveButton.addEventListener("click", save);
  discardButton.addEventListener("click", () => {
    forget();
    if (clientIdField) clientIdField.value = newId();
    say("");
    start();
  });
  // A recording not saved yet lives only in this page: ask before leaving it.
  window.addEventListener("beforeunload", (event) => {
    if (recording || recorder) event.preventDefault();
  });
}
