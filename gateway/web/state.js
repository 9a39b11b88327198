// What the page knows about the signed-in person, kept for this tab only.

export const LIKE = "RATING_LIKE";
export const DISLIKE = "RATING_DISLIKE";

export const state = {
  /** The latest list from the watch stream: {items, fallback, generateTime}, or null. */
  recommendations: null,
  /** Why the list could not be read (an ApiError), while there is no list to show. */
  recommendationsError: null,
  /** "connecting", "live" or "reconnecting": the watch stream's state. */
  stream: "connecting",
  /** film id -> RATING_LIKE | RATING_DISLIKE: the person's ratings of the films shown. */
  ratings: new Map(),
  /** Films the person asked never to see again: filtered out of every list the page shows. */
  excluded: new Set(),
  /** film id -> the number of the person's last change of it on this page (see `edits`). */
  editedAt: new Map(),
  /** How many changes the person made on this page: a read older than a change loses. */
  edits: 0,
};

export function resetState() {
  state.recommendations = null;
  state.recommendationsError = null;
  state.stream = "connecting";
  state.ratings = new Map();
  state.excluded = new Set();
  state.editedAt = new Map();
  state.edits = 0;
}

const GENRES = {
  Action: "боевик",
  Adventure: "приключения",
  Animation: "мультфильм",
  Biography: "биография",
  Comedy: "комедия",
  Crime: "криминал",
  Documentary: "документальный",
  Drama: "драма",
  Family: "семейный",
  Fantasy: "фэнтези",
  History: "история",
  Horror: "ужасы",
  Music: "музыка",
  Musical: "мюзикл",
  Mystery: "детектив",
  Romance: "мелодрама",
  "Science Fiction": "фантастика",
  "Sci-Fi": "фантастика",
  Sport: "спорт",
  Thriller: "триллер",
  War: "военный",
  Western: "вестерн",
};

export function genreName(genre) {
  const name = typeof genre === "string" ? genre : genre?.name || "";
  return GENRES[name] || name;
}

export function filmKind(type) {
  return type === "FILM_TYPE_TV_SHOW" ? "сериал" : "фильм";
}

export function formatRating(rating) {
  return typeof rating === "number" && rating > 0
    ? rating.toLocaleString("ru-RU", { minimumFractionDigits: 1, maximumFractionDigits: 1 })
    : "";
}
