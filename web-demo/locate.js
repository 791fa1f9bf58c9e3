// Finds the line of an issue's path (`[6].spec.ports[0].port`) in block-style YAML, so that
// the playground can move the caret to it. Best effort: flow style (`{a: 1}`), JSON text, or
// anything unusual returns the deepest line found, or null. Pure; no DOM.

const SEGMENT = /\.?([^.[\]]+)|\[(\d+)\]/g;

/** Splits `[6].spec.ports[0].port` into [6, "spec", "ports", 0, "port"]. */
export function splitPath(path) {
  const out = [];
  for (const m of path.matchAll(SEGMENT)) out.push(m[2] !== undefined ? Number(m[2]) : m[1]);
  return out;
}

function parseLine(text) {
  if (/^\s*(#|$)/.test(text)) return null; // blank or comment
  const m = /^(\s*)((?:-(?:\s+|$))*)(.*)$/.exec(text);
  const indent = m[1].length;
  const keyCol = indent + m[2].length;
  const k = /^(["']?)([^:"'#]+?)\1\s*:(?:\s|$)/.exec(m[3]);
  return { indent, dash: m[2].length > 0, keyCol, key: k ? k[2] : null };
}

/**
 * The 1-based line of `path` in `text`, or null.
 * @param {string} text YAML (one or several documents)
 * @param {string} path an issue path; a leading `[n]` picks the n-th document when there are several
 */
export function locatePath(text, path) {
  if (/^\s*[{[]/.test(text)) return null; // JSON: not handled
  const lines = text.split("\n").map(parseLine);
  // Documents: ranges between `---` lines that hold content.
  const docs = [];
  let start = 0;
  const flush = (end) => {
    if (lines.slice(start, end).some(Boolean)) docs.push([start, end]);
  };
  text.split("\n").forEach((l, i) => {
    if (/^---(\s|$)/.test(l)) {
      flush(i);
      start = i + 1;
      lines[i] = null;
    }
  });
  flush(lines.length);
  const segs = splitPath(path);
  let doc = 0;
  if (docs.length > 1 && typeof segs[0] === "number") doc = segs.shift();
  if (!docs[doc]) return null;
  let [from, to] = docs[doc];
  let found = null;
  const firstContent = (a, b) => {
    for (let i = a; i < b; i++) if (lines[i]) return lines[i];
    return null;
  };
  for (const seg of segs) {
    const first = firstContent(from, to);
    if (!first) return found;
    if (typeof seg === "number") {
      const items = [];
      for (let i = from; i < to; i++) {
        const l = lines[i];
        if (l && l.dash && l.indent === first.indent) items.push(i);
        else if (l && l.indent < first.indent) break;
      }
      if (seg >= items.length) return found;
      from = items[seg];
      to = items[seg + 1] ?? blockEnd(lines, from + 1, to, first.indent, true);
      found = from + 1;
    } else {
      let hit = -1;
      for (let i = from; i < to; i++) {
        const l = lines[i];
        if (l && l.key === seg && l.keyCol === first.keyCol) {
          hit = i;
          break;
        }
      }
      if (hit < 0) return found;
      found = hit + 1;
      const col = lines[hit].keyCol;
      from = hit + 1;
      to = blockEnd(lines, from, to, col, false);
    }
  }
  return found;
}

// The end of the block that starts at `from` and belongs to a key (or item) at column `col`.
// A sequence may sit at its key's own column (`ports:\n- port: 80`).
function blockEnd(lines, from, to, col, item) {
  for (let i = from; i < to; i++) {
    const l = lines[i];
    if (!l) continue;
    if (l.indent < col) return i;
    if (l.indent === col && (item || !l.dash)) return i;
  }
  return to;
}
