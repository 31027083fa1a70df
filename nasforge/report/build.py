"""``write_report(store, names, out)``: load the studies, render the page, write it atomically.

The output path is checked before anything is loaded or drawn (fail early): its folder must exist
and be writable, and the path must not be a folder. The page is written to a temporary file in the
same folder and renamed over ``out``, so a reader never sees half a page.
"""

from __future__ import annotations

import os
import tempfile
from collections.abc import Sequence
from pathlib import Path

from nasforge.errors import ConfigError
from nasforge.report import data, page


def check_out(out: str | os.PathLike[str]) -> Path:
    """``out`` as a Path if a file can be written there; :class:`ConfigError` saying why not."""
    path = Path(out)
    folder = path.parent if str(path.parent) else Path(".")
    if path.is_dir():
        raise ConfigError(f"--out {str(path)!r} is a directory; pass a file path such as report.html")
    if not folder.is_dir():
        raise ConfigError(
            f"cannot write --out {str(path)!r}: folder {str(folder)!r} does not exist; create it "
            "or pass another path"
        )
    if not os.access(folder, os.W_OK) or (path.exists() and not os.access(path, os.W_OK)):
        raise ConfigError(f"cannot write --out {str(path)!r}: permission denied; pass a writable path")
    return path


def write_text(path: Path, text: str) -> None:
    """Write ``text`` to ``path`` atomically (temporary file + rename)."""
    fd, tmp = tempfile.mkstemp(
        prefix=f".{path.name}.", suffix=".tmp", dir=path.parent if str(path.parent) else "."
    )
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        os.chmod(tmp, 0o644)
        os.replace(tmp, path)
    except OSError as exc:
        Path(tmp).unlink(missing_ok=True)
        raise ConfigError(
            f"cannot write --out {str(path)!r}: {exc.strerror or exc}; pass a writable path"
        ) from exc


def render_studies(store: str | os.PathLike[str], names: Sequence[str]) -> str:
    """The report page of studies ``names`` in ``store``."""
    if not names:
        raise ConfigError("name at least one study (see `nasforge status` for the names)")
    duplicates = sorted({n for n in names if list(names).count(n) > 1})
    if duplicates:
        raise ConfigError(f"study {duplicates[0]!r} is named twice; name each study once")
    return page.render([data.load(store, name) for name in names])


def write_report(store: str | os.PathLike[str], names: Sequence[str], out: str | os.PathLike[str]) -> Path:
    """Render studies ``names`` of ``store`` into the self-contained HTML file ``out``."""
    path = check_out(out)
    write_text(path, render_studies(store, names))
    return path
