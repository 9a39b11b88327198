// A cover for every film, drawn from its title and first genre: the catalog has no images.
// The same film always gets the same cover. Colours go in through the CSSOM (custom
// properties), never as inline style markup, which the page's CSP forbids.

import { h, svg } from "./dom.js";

function hash(text) {
  let value = 0x811c9dc5;
  for (const char of text) {
    value ^= char.codePointAt(0);
    value = Math.imul(value, 0x01000193) >>> 0;
  }
  return value;
}

// A motif per kind of genre, so that covers of a genre look related.
const MOTIFS = {
  Action: "stripes",
  Adventure: "peaks",
  Animation: "dots",
  Comedy: "dots",
  Crime: "bars",
  Documentary: "grid",
  Drama: "rings",
  Family: "dots",
  Fantasy: "stars",
  History: "grid",
  Horror: "shards",
  Music: "waves",
  Musical: "waves",
  Mystery: "rings",
  Romance: "rings",
  "Science Fiction": "stars",
  Thriller: "shards",
  War: "bars",
  Western: "peaks",
};
const KINDS = ["stripes", "peaks", "dots", "bars", "grid", "rings", "stars", "shards", "waves"];

function random(seed) {
  let state = seed || 1;
  return () => {
    state ^= state << 13;
    state ^= state >>> 17;
    state ^= state << 5;
    return (state >>> 0) / 4294967296;
  };
}

function motif(kind, next) {
  const ink = { fill: "#fff", "fill-opacity": 0.16 };
  const line = { stroke: "#fff", "stroke-opacity": 0.2, fill: "none", "stroke-width": 3 };
  const shapes = [];
  for (let i = 0; i < 7; i += 1) {
    const x = Math.round(next() * 100);
    const y = Math.round(next() * 150);
    const size = 6 + Math.round(next() * 26);
    if (kind === "stripes") {
      shapes.push(svg("rect", { ...ink, x: -40 + i * 24, y: -20, width: 8, height: 220, transform: "rotate(28 50 75)" }));
    } else if (kind === "peaks") {
      shapes.push(svg("path", { ...ink, d: `M${x - size * 2} 150 L${x} ${80 + y / 3} L${x + size * 2} 150 Z` }));
    } else if (kind === "dots") {
      shapes.push(svg("circle", { ...ink, cx: x, cy: y, r: size / 2 }));
    } else if (kind === "bars") {
      shapes.push(svg("rect", { ...ink, x: i * 15, y: 150 - size * 3, width: 9, height: size * 3 }));
    } else if (kind === "grid") {
      shapes.push(svg("line", { ...line, x1: 0, y1: 20 + i * 20, x2: 100, y2: 20 + i * 20 }));
    } else if (kind === "rings") {
      shapes.push(svg("circle", { ...line, cx: 50 + (x - 50) / 3, cy: 60 + (y - 75) / 3, r: 10 + i * 9 }));
    } else if (kind === "stars") {
      shapes.push(svg("circle", { ...ink, "fill-opacity": 0.45, cx: x, cy: y, r: 0.6 + next() * 1.6 }));
      shapes.push(svg("circle", { ...ink, cx: (x * 7) % 100, cy: (y * 3) % 150, r: 0.5 + next() }));
    } else if (kind === "shards") {
      shapes.push(svg("path", { ...ink, d: `M${x} ${y} l${size} ${size / 3} l${-size / 2} ${size} Z` }));
    } else {
      shapes.push(svg("path", { ...line, d: `M0 ${y} Q25 ${y - size} 50 ${y} T100 ${y}` }));
    }
  }
  return shapes;
}

/** The cover of `film` (a FilmSummary or Film): a decorative picture, hidden from readers. */
export function poster(film, size = "card") {
  const title = film.title || "";
  const genres = (film.genres || []).map((genre) => (typeof genre === "string" ? genre : genre.name));
  const seed = hash(`${title}|${genres[0] || ""}`);
  const next = random(seed);
  const kind = MOTIFS[genres[0]] || KINDS[seed % KINDS.length];
  const cover = h("div", { class: `poster poster-${size}`, "aria-hidden": "true" });
  const hue = seed % 360;
  cover.style.setProperty("--hue-a", String(hue));
  cover.style.setProperty("--hue-b", String((hue + 40 + (seed >>> 9) % 80) % 360));
  const picture = svg(
    "svg",
    { viewBox: "0 0 100 150", preserveAspectRatio: "xMidYMid slice", focusable: "false" },
    ...motif(kind, next),
  );
  const letters = title.replace(/^(the|a|an)\s+/i, "").trim().slice(0, 1).toUpperCase();
  cover.append(picture, h("span", { class: "poster-letter" }, letters), h("span", { class: "poster-title" }, title));
  return cover;
}
