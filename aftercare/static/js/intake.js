// The intake questions: nothing typed is lost. Every change is kept on this phone at once
// (localStorage, this patient's key) and sent as the draft when there is a connection; offline, it
// waits and goes when the phone is back online or on the next visit. A copy the server never
// acknowledged is put back into the form when the page opens. Questions that depend on an
// earlier answer show only when they apply.

const form = document.querySelector("[data-intake]");
const sent = document.querySelector("[data-intake-sent]");
const status = document.querySelector("[data-intake-status]");
const SKIP = new Set(["csrf_token", "intake", "version", "action"]);

function keyFor(owner) {
  return `aftercare-intake:${owner}`;
}

function readLocal(owner) {
  try {
    return JSON.parse(localStorage.getItem(keyFor(owner)) || "null");
  } catch {
    return null;
  }
}

function writeLocal(owner, value) {
  try {
    localStorage.setItem(keyFor(owner), JSON.stringify(value));
    return true;
  } catch {
    return false; // storage full or blocked: the server copy is all there is
  }
}

if (sent) {
  // The answers reached the clinic: the copy on this phone is no longer needed.
  try {
    localStorage.removeItem(keyFor(sent.dataset.intakeOwner));
  } catch {
    /* nothing kept */
  }
}

function say(text) {
  if (status) status.textContent = text;
}

function fieldsOf() {
  const fields = {};
  for (const element of form.elements) {
    if (!element.name || SKIP.has(element.name)) continue;
    if (element.type === "checkbox") {
      fields[element.name] ??= [];
      if (element.checked) fields[element.name].push(element.value);
    } else if (element.type === "radio") {
      if (element.checked) fields[element.name] = element.value;
      else fields[element.name] ??= "";
    } else {
      fields[element.name] = element.value;
    }
  }
  return fields;
}

function fill(fields) {
  for (const element of form.elements) {
    if (!element.name || SKIP.has(element.name) || !(element.name in fields)) continue;
    const value = fields[element.name];
    if (element.type === "checkbox") element.checked = Array.isArray(value) && value.includes(element.value);
    else if (element.type === "radio") element.checked = element.value === value;
    else element.value = typeof value === "string" ? value : "";
  }
}

// "key=a|b", "key!=a": the same conditions the server reads (aftercare/intake/questions.py).
function holds(condition, fields) {
  const match = /^(\w+)(!=|=)(.+)$/.exec(condition);
  if (!match) return true;
  const [, key, op, wanted] = match;
  const value = fields[key];
  if (!value) return false;
  const found = wanted.split("|").includes(value);
  return op === "=" ? found : !found;
}

function showWhatApplies() {
  const fields = fieldsOf();
  for (const block of form.querySelectorAll("[data-when]")) {
    block.hidden = !holds(block.dataset.when, fields);
  }
  // Centimetres, or feet and inches: only the boxes of the unit chosen.
  for (const block of form.querySelectorAll("[data-unit-of]")) {
    block.hidden = (fields[block.dataset.unitOf] || "cm") !== block.dataset.unit;
  }
}

if (form) {
  const owner = form.dataset.intakeOwner;
  const intakeId = Number(form.dataset.intakeId);
  const version = Number(form.dataset.intakeVersion);
  const token = form.querySelector("[name=csrf_token]").value;
  let timer = null;
  let sending = false;

  for (const hint of form.querySelectorAll(".when-hint")) hint.hidden = true;

  async function send() {
    const copy = readLocal(owner);
    if (!copy || copy.sent || copy.intake !== intakeId || sending) return;
    if (!navigator.onLine) {
      say("Saved on this phone. It will reach your clinic when you are back online.");
      return;
    }
    sending = true;
    try {
      const response = await fetch(form.dataset.intakeDraftUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "Content-Type": "application/json", "X-CSRFToken": token },
        body: JSON.stringify({ intake: intakeId, version, fields: copy.fields }),
      });
      if (response.status === 409) {
        say("Your clinic changed the questions. Reload the page: your answers are kept.");
        return;
      }
      if (!response.ok) {
        say("Saved on this phone. We will try again to send it.");
        return;
      }
      const result = await response.json();
      const latest = readLocal(owner);
      if (latest && latest.at === copy.at) writeLocal(owner, { ...latest, sent: true });
      if (result.crisis) {
        window.location.assign("/support");
        return;
      }
      const problems = Object.keys(result.errors || {}).length;
      say(problems ? "Saved. One or more answers need a look before you send." : "Saved.");
    } catch {
      say("Saved on this phone. It will reach your clinic when you are back online.");
    } finally {
      sending = false;
    }
  }

  function keep() {
    showWhatApplies();
    const kept = writeLocal(owner, { intake: intakeId, version, at: Date.now(), fields: fieldsOf(), sent: false });
    say(kept ? "Saving…" : "");
    clearTimeout(timer);
    timer = setTimeout(send, 600);
  }

  // Answers kept on this phone and never acknowledged by the server (answered offline, or the page
  // closed before they went) come back and are sent. Not by comparing clocks: a send that was on
  // its way when the connection dropped can land after newer answers were kept here.
  const local = readLocal(owner);
  if (local && local.intake === intakeId && !local.sent) {
    fill(local.fields);
    say("Answers saved on this phone are back in the form.");
    send();
  }
  showWhatApplies();

  form.addEventListener("change", keep);
  form.addEventListener("input", (event) => {
    if (event.target.matches("textarea, input[type=text], input:not([type])")) keep();
  });
  window.addEventListener("online", send);
  form.addEventListener("submit", () => clearTimeout(timer));
}
