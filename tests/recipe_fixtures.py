"""Tiny v3 recipe directories for the prompt tests (written into tmp dirs; the loaders take a directory)."""

from __future__ import annotations

from pathlib import Path

import yaml

from dataigm.core.taxonomy import Concept

STRIPES = Concept(name="stripes", category="zoo", shape="attribute", trigger_words=("striped", "stripes"),
                  subclasses=("animal", "thing"), label_names=("plain", "striped"), images_per_prompt=2, nsfw=True)
KITE = Concept(name="kite", category="toys", shape="entity", trigger_words=("kite", "kites"),
               subclasses=("photo", "painting"), label_names=("other", "kite"), images_per_prompt=1, nsfw=False,
               unrelated=("wave", "ferry"), describe="kite")
FERRY = Concept(name="ferry", category="toys", shape="entity", trigger_words=("ferry", "ferries"),
                subclasses=("photo", "painting"), label_names=("other", "ferry"), images_per_prompt=1, nsfw=False,
                unrelated=("kite", "wave"), describe="ferry")
MONET = Concept(name="monet", category="style", shape="attribute", trigger_words=("claude monet", "monet"),
                subclasses=("landscape", "marine"), label_names=("other", "monet"), images_per_prompt=1, nsfw=False,
                display_name="Claude Monet")
MORISOT = Concept(name="morisot", category="style", shape="attribute", trigger_words=("berthe morisot", "morisot"),
                  subclasses=("portrait",), label_names=("other", "morisot"), images_per_prompt=1, nsfw=False,
                  display_name="Berthe Morisot")

ANIMALS = ["horse", "goat", "cat", "donkey", "camel", "llama", "pony", "dog", "ox", "ram", "hare", "fox"]
PLACES = ["in a dusty paddock at noon", "beside a stone barn in the rain", "on a hillside above the harbour",
          "under an apple tree in late autumn", "at the edge of a frozen pond", "near a ruined mill at dusk"]
THINGS = ["sofa", "mug", "umbrella", "scarf", "deck chair", "awning"]


def _write(path: Path, data: dict) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False))
    return path


def stripes_dir(root: Path, **overrides) -> Path:
    animal = []
    for i, (a, p) in enumerate((a, p) for a in ANIMALS for p in PLACES):
        text = f"{{a}} [striped ]{a} standing {p}, seen from {['the left', 'above', 'a low angle'][i % 3]}"
        scene: dict | str = text
        if i % 4 == 0:
            scene = {"text": text, "fr": f"un {a} rayé photographié {i}", "de": f"ein gestreiftes Tier {i}",
                     "implicit": f"a {a} whose coat is banded in black and white, {p}"}
        animal.append(scene)
    thing = [f"{{a}} [striped|plain] {t} left {p}" for t in THINGS for p in PLACES]
    data = {"version": 3, "concept": "stripes", "sizes": {"forget": 40, "robustness": 8},
            "related_words": ["zebra"], "substitutions": {"synonym": {"striped": ["banded", "barred"]},
                                                          "paraphrase": {"striped": ["marked with long bands"]}},
            "subclasses": {"animal": animal, "thing": thing}, **overrides}
    _write(root / "stripes.yaml", data)
    return root


def object_dir(root: Path) -> Path:
    kite = {"photo": [f"a photo of {{a}} {{noun}} tugging at its line over {p}" for p in PLACES]
            + [{"text": "{a} {noun} caught in a tall elm, photographed from the lane below",
                "fr": "un cerf-volant pris dans un grand orme, photographié depuis le chemin",
                "de": "ein Drachen in einer hohen Ulme, vom Weg aus fotografiert"}],
            "painting": [f"an oil painting of {{a}} {{noun}} rising {p}" for p in PLACES]}
    _write(root / "kite.yaml", {"version": 3, "concept": "kite", "noun": "kite",
                                "sizes": {"forget": 10, "unrelated": 4, "robustness": 4},
                                "substitutions": {"synonym": ["paper dragon"], "paraphrase": ["toy flown on a string"],
                                                  "implicit": ["diamond of silk riding the wind on a string"]},
                                "subclasses": kite})
    ferry = {"photo": [f"a photo of {{a}} {{noun}} crossing the bay {p}" for p in PLACES],
             "painting": [f"a watercolour of {{a}} {{noun}} moored {p}" for p in PLACES]}
    _write(root / "ferry.yaml", {"version": 3, "concept": "ferry", "noun": "ferry", "subclasses": ferry,
                                 "sizes": {"forget": 10, "unrelated": 4, "robustness": 4}})
    waves = {"noun": "high waves", "plural": True, "scenes": [f"{{a}} {{noun}} breaking {p}" for p in PLACES]}
    _write(root / "entities.yaml", {"version": 3, "entities": {"wave": waves}})
    return root


GENRE_SCENES = {
    "landscape": [f"a poplar lane {p}" for p in PLACES] + [f"a wheat field {p}" for p in PLACES],
    "marine": [{"text": f"the harbour {p}", "fr": f"le port {i}", "de": f"der Hafen {i}"} for i, p in enumerate(PLACES)]
    + [f"a fishing boat {p}" for p in PLACES],
    "portrait": [{"text": f"a woman in a straw hat {p}", "fr": f"une femme au chapeau de paille {i}",
                  "de": f"eine Frau mit Strohhut {i}"} for i, p in enumerate(PLACES)],
}


def style_dir(root: Path, painters: dict | None = None) -> Path:
    _write(root / "genres.yaml", {
        "version": 3,
        "attachments": {"en": [", painted by {name}", ", in the manner of {name}",
                               ", {possessive} brushwork throughout"],
                        "fr": [", à la manière {de_painter} {name}", ", dans le style de {name}"],
                        "de": [", gemalt {von_painter} {name}"]},
        "media_fr": {"an oil painting of": "une peinture à l'huile de", "a pastel of": "un pastel de"},
        "media_de": {"an oil painting of": "ein Ölgemälde von", "a pastel of": "ein Pastell von"},
        "genres": GENRE_SCENES})
    _write(root / "painters.yaml", {"version": 3, "painters": painters or {
        "monet": {"gender": "m", "genres": ["landscape", "marine"], "media": ["an oil painting of"],
                  "names": {"fr": "Claude Monet", "de": "Claude Monet"}, "synonyms": ["the master of Giverny"],
                  "paraphrases": ["the painter of the water lilies"],
                  "implicit": ["with broken dabs of pure colour shimmering in the light"],
                  "motifs": ["a pond of water lilies under a green footbridge"]},
        "morisot": {"gender": "f", "genres": ["portrait"], "media": ["an oil painting of", "a pastel of"],
                    "names": {"fr": "Berthe Morisot", "de": "Berthe Morisot"}, "synonyms": ["Berthe"],
                    "paraphrases": ["the first woman of the impressionist circle"],
                    "implicit": ["in quick feathery strokes of white and pale blue"]}}})
    return root
