// Crisis words typed by the patient (CLIN-04/05): the server's own patterns, embedded in the page
// as <script type="application/json" id="crisis-patterns">, matched here too so that crisis
// resources open at once, even with no connection. One copy, shared by every page that takes text.

export function crisisMatcher() {
  let sources = [];
  try {
    sources = JSON.parse(document.getElementById("crisis-patterns")?.textContent || "[]");
  } catch {
    sources = [];
  }
  const patterns = sources.flatMap((source) => {
    try {
      return [new RegExp(source)];
    } catch {
      return [];
    }
  });
  return (text) => {
    if (!text) return false;
    const normal = text.normalize("NFKC").toLowerCase().replace(/[\u2018\u2019]/g, "'");
    return patterns.some((pattern) => pattern.test(normal));
  };
}
