// A simple drawing area for the journal: a few calm colours, three brush sizes, undo and clear.
// Pointer events, so a finger, a pen (its pressure, where it has one) and a mouse all draw; the canvas
// has touch-action: none, so drawing never scrolls the page. The picture is white paper with strokes
// on it, kept as the list of strokes, so undo redraws the rest and clearing can be undone too.

const PAPER = "#ffffff";

export function drawingPad(root, { onChange = () => {} } = {}) {
  const canvas = root.querySelector("[data-draw-canvas]");
  const context = canvas.getContext("2d");
  const undoButton = root.querySelector("[data-draw-undo]");
  const clearButton = root.querySelector("[data-draw-clear]");
  const addButton = root.querySelector("[data-draw-add]");
  // Each step is a stroke {colour, size, points: [[x, y, pressure]...]} or a clearing {clear: true}.
  let steps = [];
  let current = null;

  const chosen = (name) => root.querySelector(`input[name="${name}"]:checked`)?.value;

  // What is on the paper now: the strokes since the last clearing.
  const visible = () => {
    const cleared = steps.map((step) => Boolean(step.clear)).lastIndexOf(true);
    return steps.slice(cleared + 1);
  };

  function paper() {
    context.fillStyle = PAPER;
    context.fillRect(0, 0, canvas.width, canvas.height);
  }

  function width(stroke, pressure) {
    // A pen presses harder for a thicker line; a finger or a mouse reports 0.5 (or 0) throughout.
    return stroke.pen ? stroke.size * (0.4 + 1.2 * pressure) : stroke.size;
  }

  function segment(stroke, from, to) {
    context.strokeStyle = stroke.colour;
    context.fillStyle = stroke.colour;
    context.lineCap = "round";
    context.lineJoin = "round";
    context.lineWidth = width(stroke, to[2]);
    if (from === to) {
      context.beginPath();
      context.arc(to[0], to[1], context.lineWidth / 2, 0, Math.PI * 2);
      context.fill();
      return;
    }
    context.beginPath();
    context.moveTo(from[0], from[1]);
    context.lineTo(to[0], to[1]);
    context.stroke();
  }

  function redraw() {
    paper();
    for (const stroke of visible()) {
      stroke.points.forEach((point, index) => segment(stroke, stroke.points[Math.max(0, index - 1)], point));
    }
  }

  function update() {
    const drawn = visible().length > 0;
    undoButton.disabled = steps.length === 0;
    clearButton.disabled = !drawn;
    addButton.disabled = !drawn;
    onChange(drawn);
  }

  function at(event) {
    const box = canvas.getBoundingClientRect();
    const x = ((event.clientX - box.left) / box.width) * canvas.width;
    const y = ((event.clientY - box.top) / box.height) * canvas.height;
    return [x, y, event.pressure || 0.5];
  }

  canvas.addEventListener("pointerdown", (event) => {
    if (event.button !== 0 && event.pointerType === "mouse") return;
    event.preventDefault();
    canvas.setPointerCapture?.(event.pointerId);
    const point = at(event);
    current = {
      colour: chosen("draw-colour") || "#2f3b4a",
      size: Number(chosen("draw-size")) || 22,
      pen: event.pointerType === "pen",
      pointer: event.pointerId,
      points: [point],
    };
    steps.push(current);
    segment(current, point, point);
  });

  canvas.addEventListener("pointermove", (event) => {
    if (!current || event.pointerId !== current.pointer) return;
    event.preventDefault();
    // A fast finger reports several positions per frame: draw through all of them.
    const events = event.getCoalescedEvents?.() ?? [];
    for (const each of events.length ? events : [event]) {
      const point = at(each);
      segment(current, current.points[current.points.length - 1], point);
      current.points.push(point);
    }
  });

  const end = (event) => {
    if (!current || event.pointerId !== current.pointer) return;
    current = null;
    update();
  };
  canvas.addEventListener("pointerup", end);
  canvas.addEventListener("pointercancel", end);

  undoButton.addEventListener("click", () => {
    steps.pop();
    redraw();
    update();
  });

  clearButton.addEventListener("click", () => {
    // Nothing is lost: Undo brings the drawing back.
    steps.push({ clear: true });
    redraw();
    update();
  });

  paper();
  update();

  return {
    /** Whether there is something on the paper. */
    hasDrawing: () => visible().length > 0,
    /** The drawing as a PNG blob. */
    toBlob: () =>
      new Promise((resolve, reject) =>
        canvas.toBlob((blob) => (blob ? resolve(blob) : reject(new Error("no drawing"))), "image/png"),
      ),
    /** Start again on fresh paper (after the drawing was added to the entry). */
    reset() {
      steps = [];
      current = null;
      redraw();
      update();
    },
  };
}
