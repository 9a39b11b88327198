import numpy as np

from services.recommendations.engines import ItemIndex, Profile
from services.recommendations.engines.collaborative import (
    EaseConfig,
    EaseModel,
    KnnConfig,
    KnnModel,
    best_liked,
)
from services.recommendations.engines.types import Feedback, FloatArray, IntArray, Interaction
from tests.recommendations.engines.catalog import ROMANCE, SCI_FI, films, two_tastes

INDEX = ItemIndex(f.id for f in films())


def _best(scores: FloatArray, profile: Profile, n: int = 3) -> list[str]:
    ranked = [INDEX.ids[c] for c in np.argsort(-scores, kind="stable")]
    return [f for f in ranked if f not in profile.rated][:n]


def test_user_who_likes_sci_fi_gets_sci_fi_from_ease_and_knn() -> None:
    feedback = Feedback.from_interactions(two_tastes(), INDEX)
    profile = Profile(liked=("s1",))
    for model in (
        EaseModel.fit(feedback, INDEX, EaseConfig(l2=1.0)),
        KnnModel.fit(feedback, INDEX),
    ):
        assert set(_best(model.score(profile), profile)) <= set(SCI_FI)


def test_dislike_pushes_down_films_liked_together_with_it() -> None:
    history = [*two_tastes(), Interaction("mixed", "s1", 1), Interaction("mixed", "r1", 1)]
    feedback = Feedback.from_interactions(history, INDEX)
    liking = Profile(liked=("s1",))
    disliking = Profile(liked=("s1",), disliked=("r2",))
    r3 = INDEX.column("r3")
    for model in (
        EaseModel.fit(feedback, INDEX, EaseConfig(l2=1.0)),
        KnnModel.fit(feedback, INDEX),
    ):
        assert model.score(disliking)[r3] < model.score(liking)[r3]


def test_collaborative_explains_with_the_liked_film_behind_the_score() -> None:
    feedback = Feedback.from_interactions(two_tastes(), INDEX)
    profile = Profile(liked=("s1", "r1"))
    for model in (
        EaseModel.fit(feedback, INDEX, EaseConfig(l2=1.0)),
        KnnModel.fit(feedback, INDEX),
    ):
        assert model.explain(profile, ["s2", "r2"]) == ["s1", "r1"]


def test_ease_models_only_the_most_liked_films_when_capped() -> None:
    history = [*two_tastes(), *(Interaction(f"fan{i}", f, 1) for i in range(3) for f in ROMANCE)]
    model = EaseModel.fit(
        Feedback.from_interactions(history, INDEX), INDEX, EaseConfig(max_items=4)
    )
    scores = model.score(Profile(liked=("r1",)))
    assert np.isneginf(scores[INDEX.columns(SCI_FI)]).all()
    assert np.isfinite(scores[INDEX.columns(ROMANCE)]).all()


def test_knn_keeps_only_k_neighbours_per_film() -> None:
    model = KnnModel.fit(Feedback.from_interactions(two_tastes(), INDEX), INDEX, KnnConfig(2))
    assert (np.diff(model.similarity.indptr) <= 2).all()


def test_a_reason_names_the_like_that_contributed_most_to_the_score() -> None:
    index = ItemIndex(["new", "old", "pick"])
    profile = Profile(liked=("new", "old"))  # newest first: "old" weighs 0.7

    def similar(new: float, old: float) -> list[str | None]:
        def block(liked: IntArray, targets: IntArray) -> FloatArray:
            return np.array([[new], [old]])

        return best_liked(index, profile, ["pick"], block, recency=0.7)

    assert similar(new=0.5, old=0.6) == ["new"]  # 0.5 > 0.6 x 0.7
    assert similar(new=0.5, old=0.8) == ["old"]  # 0.56 > 0.5
    assert similar(new=0.0, old=0.0) == [None]
