"""`dataigm report`: one self-contained HTML page for release folders (or Hub ids), judge artifacts
and evaluation runs. Plots are SVG, thumbnails JPEG data URIs within a byte budget; no script and
nothing from the network. The plot files are also written next to their inputs (release/plots,
artifact/plots) where the dataset and model cards pick them up."""

from __future__ import annotations

import base64
import time
from importlib.metadata import version
from pathlib import Path

from dataigm.core import layout
from dataigm.core.errors import DataIGMError
from dataigm.core.logs import get
from dataigm.report.model import Section
from dataigm.report.thumbs import Thumbnails

log = get("report")


def kind_of(path: str) -> str:
    """What a report input is: an evaluation run, a judge artifact or a release."""
    folder = Path(path)
    if (folder / layout.RUN_SUMMARY).exists() and (folder / layout.RUN_PER_IMAGE).exists():
        return "evaluation"
    if (folder / layout.JUDGE_CONFIG).exists() and (folder / layout.JUDGE_WEIGHTS).exists():
        return "judge"
    if (folder / layout.MANIFEST).exists() or not folder.exists():
        return "release"
    raise DataIGMError(f"{path}: neither a release folder or Hub id, a judge artifact, nor an evaluation run")


def build_sections(paths: list[str], thumbs: Thumbnails, write_plots: bool,
                   configs: list[str] | None = None) -> list[tuple[Section, Path | None]]:
    """One section per release and judge, one for all evaluation runs together, each with the
    folder its plot files go to (None: none written). Reads every input and writes nothing, so a
    bad input stops the report before any plot file is written."""
    from dataigm.report.evaluation import evaluation_section
    from dataigm.report.judge import judge_section
    from dataigm.report.release import release_section

    kinds = {p: kind_of(p) for p in paths}
    releases = [p for p in paths if kinds[p] == "release"]
    if configs and not releases:
        raise DataIGMError(f"--config {configs[0]}: --config picks configs of a release, and no release is given")
    sections: list[tuple[Section, Path | None]] = []
    held: set[str] = set()
    for path in paths:
        if kinds[path] == "release":
            from dataigm.hub.loading import local_copy

            folder = local_copy(path)
            local = Path(path).is_dir()
            section, names = release_section(folder, path, thumbs, configs)
            held.update(names)
            sections.append((section, folder / layout.PLOTS if write_plots and local else None))
        elif kinds[path] == "judge":
            sections.append((judge_section(Path(path), thumbs), Path(path) / layout.PLOTS if write_plots else None))
    missing = [c for c in configs or [] if c not in held]
    if missing:
        raise DataIGMError(f"--config {missing[0]}: no image config of that name in {', '.join(releases)} "
                           f"(image configs: {', '.join(sorted(held)) or 'none'})")
    runs = [Path(p) for p in paths if kinds[p] == "evaluation"]
    if runs:
        sections.append((evaluation_section(runs, thumbs), runs[0] / layout.PLOTS if write_plots else None))
    return sections


def render(paths: list[str], out: Path, max_images: int = 200, max_bytes: int = 12_000_000,
           write_plots: bool = True, configs: list[str] | None = None) -> dict[str, float]:
    """Write the self-contained HTML report of `paths` to `out`; returns its size and timing."""
    import jinja2

    started = time.time()
    thumbs = Thumbnails(max_images, max_bytes)
    placed = build_sections(paths, thumbs, write_plots, configs)
    sections = [section for section, _ in placed]
    thumbs.make()
    figures = {f.name: "data:image/svg+xml;base64," + base64.b64encode(f.svg.encode()).decode()
               for s in sections for f in s.figures}
    shown = len(thumbs.made)
    size_note = (f"{shown} thumbnails embedded (at most {max_images}, {max_bytes // 1_000_000} MB)."
                 + (f" {len(thumbs.wanted) - shown} left out to stay within the size bound."
                    if shown < len(thumbs.wanted) else ""))
    env = jinja2.Environment(loader=jinja2.FileSystemLoader(Path(__file__).parent), autoescape=True)
    html = env.get_template("report.html.j2").render(
        title="DataIGM report", version=version("dataigm"), inputs=paths, sections=sections, thumbs=thumbs,
        figure_uris=figures, size_note=size_note)
    from dataigm.core.storage import write_file

    for section, plots_dir in placed:  # every input read: now the plot files, then the page
        for figure in section.figures:
            figure.save(plots_dir)
    write_file(out, html)
    seconds = time.time() - started
    log.info("report %s: %d sections, %d images, %.1f MB in %.1f s", out, len(sections), shown,
             out.stat().st_size / 1e6, seconds)
    return {"seconds": round(seconds, 1), "bytes": out.stat().st_size, "images": shown, "sections": len(sections)}
