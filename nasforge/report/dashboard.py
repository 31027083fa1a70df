"""A small local web server showing the report page of every study in a store, live.

Standard library only (``http.server``, one thread per request). Routes:

* ``/``: every study of the store (trials, states, best value), linking to its page;
* ``/compare?name=A&name=B``: studies compared on one page;
* ``/study/NAME``: the same page as ``nasforge report NAME``; its script asks ``/api/version?name=NAME``
  every few seconds and reloads when a trial has finished since (so it follows a running search);
* ``/api/version?name=NAME`` and ``/api/studies``: small JSON answers for that refresh.

Read-only on the store: every request opens the store with ``create=False`` through the public study
API, reads, and closes it again; the store's WAL mode lets it read while a search writes. Rendering
(matplotlib) is serialised by a lock, and each study's page is cached until its trials change.
"""

from __future__ import annotations

import hashlib
import json
import os
import threading
import urllib.parse
from http import HTTPStatus
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from nasforge.errors import NasforgeError, StoreError
from nasforge.report import data, page
from nasforge.report.html import CSP, data_table, esc, fmt, note
from nasforge.report.html import page as html_page

DEFAULT_REFRESH = 5.0


class Dashboard:
    """What the server shows, independent of HTTP (so tests can call it directly)."""

    def __init__(self, store: str | os.PathLike[str], refresh: float = DEFAULT_REFRESH) -> None:
        self.store = Path(store)
        self.refresh = float(refresh)
        self._lock = threading.Lock()
        self._cache: dict[tuple[str, ...], tuple[str, str]] = {}
        data.study_names(self.store)  # fail early: a missing or foreign store is a StoreError

    # -- data ---------------------------------------------------------------------------------
    def version(self, names: list[str]) -> str:
        """A fingerprint that changes whenever a trial of ``names`` is added or changes state."""
        digest = hashlib.sha256()
        for name in names:
            study = data.load(self.store, name)
            digest.update(_fingerprint(study).encode())
        return digest.hexdigest()[:16]

    def studies(self) -> list[dict[str, Any]]:
        """One summary per stored study (for the index and ``/api/studies``)."""
        out = []
        for name in data.study_names(self.store):
            s = data.load(self.store, name)
            best = s.best
            out.append(
                {
                    "name": s.name,
                    "space": (s.config.get("space") or {}).get("name"),
                    "strategy": (s.config.get("strategy") or {}).get("name"),
                    "trials": len(s.trials),
                    "states": s.states,
                    "objective": s.objective,
                    "best": None if best is None else s.value(best),
                    "version": _fingerprint(s),
                }
            )
        return out

    # -- pages --------------------------------------------------------------------------------
    def study_page(self, names: list[str]) -> str:
        """The report page of ``names`` with the live-refresh script (cached per trial state)."""
        loaded = [data.load(self.store, name) for name in names]
        version = hashlib.sha256("".join(_fingerprint(s) for s in loaded).encode()).hexdigest()[:16]
        key = tuple(names)
        with self._lock:
            cached = self._cache.get(key)
            if cached is not None and cached[0] == version:
                return cached[1]
            query = urllib.parse.urlencode([("name", n) for n in names])
            script = _refresh_js(f"/api/version?{query}", version, self.refresh)
            html = page.render(
                loaded, csp=CSP + "; connect-src 'self'", script=script, nav=_nav(self.refresh)
            )
            self._cache[key] = (version, html)
            return html

    def index_page(self) -> str:
        rows = []
        for s in self.studies():
            link = f'<a href="/study/{urllib.parse.quote(s["name"], safe="")}">{esc(s["name"])}</a>'
            st = s["states"]
            rows.append(
                [
                    (s["name"], link),
                    (s["space"], esc(s["space"])),
                    (s["strategy"], esc(s["strategy"])),
                    (s["trials"], esc(s["trials"])),
                    (st["COMPLETE"], esc(st["COMPLETE"])),
                    (st["RUNNING"], esc(st["RUNNING"])),
                    (st["FAILED"], esc(st["FAILED"])),
                    (s["objective"], esc(s["objective"])),
                    (s["best"], esc(fmt(s["best"]))),
                ]
            )
        headers = [
            ("study", "text"),
            ("space", "text"),
            ("strategy", "text"),
            ("trials", "num"),
            ("complete", "num"),
            ("running", "num"),
            ("failed", "num"),
            ("objective", "text"),
            ("best", "num"),
        ]
        table = data_table(headers, rows, sortable=True) if rows else note("This store holds no study yet.")
        if len(rows) > 1:
            query = urllib.parse.urlencode([("name", r[0][0]) for r in rows])
            table += f'<p><a href="/compare?{esc(query)}">compare all studies on one page</a></p>'
        body = f'<section class="section" data-section="studies"><h2>Studies</h2>{table}</section>'
        script = _refresh_js("/api/version?all=1", self.version(data.study_names(self.store)), self.refresh)
        return html_page(
            f"nasforge dashboard: {self.store.name}",
            _nav(self.refresh),
            [],
            body,
            csp=CSP + "; connect-src 'self'",
            script=script,
        )


def _fingerprint(study: data.StudyData) -> str:
    return ";".join(f"{t.number}:{t.state.value}:{t.completed_at}" for t in study.trials) or "empty"


def _nav(refresh: float) -> str:
    return (
        f'<a href="/">all studies</a> · <span id="live">live: reloads when a trial finishes (checked every '
        f"{refresh:g} s)</span> · "
    )


def _refresh_js(url: str, version: str, seconds: float) -> str:
    """Poll ``url`` every ``seconds``; reload when its version differs, stop polling if the server is gone."""
    stopped = json.dumps("dashboard not answering: live updates stopped (reload the page to retry)")
    return (
        f"(function(){{var v={json.dumps(version)},t=setInterval(function(){{"
        f"fetch({json.dumps(url)},{{cache:'no-store'}})"
        ".then(function(r){return r.ok?r.json():null;})"
        ".then(function(d){if(d&&d.version!==v){clearInterval(t);location.reload();}})"
        ".catch(function(){clearInterval(t);var s=document.getElementById('live');"
        f"if(s){{s.textContent={stopped};}}}});"
        f"}},{int(seconds * 1000)});}})();"
    )


class Handler(BaseHTTPRequestHandler):
    """Routes GET requests to a :class:`Dashboard` (set as ``server.dashboard``)."""

    server_version = "nasforge-dashboard"

    def do_GET(self) -> None:
        url = urllib.parse.urlsplit(self.path)
        query = urllib.parse.parse_qs(url.query)
        board: Dashboard = self.server.dashboard  # type: ignore[attr-defined]
        try:
            if url.path == "/":
                self._send(HTTPStatus.OK, board.index_page())
            elif url.path.startswith("/study/"):
                self._send(
                    HTTPStatus.OK, board.study_page([urllib.parse.unquote(url.path[len("/study/") :])])
                )
            elif url.path == "/compare" and query.get("name"):
                self._send(HTTPStatus.OK, board.study_page(query["name"]))
            elif url.path == "/api/version":
                names = data.study_names(board.store) if query.get("all") else query.get("name", [])
                self._send(HTTPStatus.OK, json.dumps({"version": board.version(names)}), "application/json")
            elif url.path == "/api/studies":
                self._send(HTTPStatus.OK, json.dumps(board.studies(), default=str), "application/json")
            elif url.path == "/favicon.ico":
                self._send(HTTPStatus.NO_CONTENT, "")
            else:
                self._send(
                    HTTPStatus.NOT_FOUND, _error_page(f"no page {url.path!r}; see the list of studies")
                )
        except StoreError as exc:
            status = HTTPStatus.NOT_FOUND if "no study named" in str(exc) else HTTPStatus.SERVICE_UNAVAILABLE
            self._send(status, _error_page(str(exc)))
        except NasforgeError as exc:
            self._send(HTTPStatus.BAD_REQUEST, _error_page(str(exc)))
        except (BrokenPipeError, ConnectionResetError):
            pass

    def _send(self, status: HTTPStatus, body: str, kind: str = "text/html; charset=utf-8") -> None:
        raw = body.encode("utf-8")
        self.send_response(status)
        if status is not HTTPStatus.NO_CONTENT:
            self.send_header("Content-Type", kind)
            self.send_header("Content-Length", str(len(raw)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if raw:
            self.wfile.write(raw)

    def log_message(self, format: str, *args: Any) -> None:  # quiet: one line at start is enough
        return


def _error_page(message: str) -> str:
    body = f'<section class="section"><h2>Not available</h2><p class="notice">{esc(message)}</p></section>'
    return html_page("nasforge dashboard", '<a href="/">all studies</a>', [], body)


def make_server(
    store: str | os.PathLike[str], host: str = "127.0.0.1", port: int = 0, refresh: float = DEFAULT_REFRESH
) -> ThreadingHTTPServer:
    """A bound (not yet serving) server; ``port=0`` picks a free port (``server.server_address``)."""
    board = Dashboard(store, refresh)
    try:
        server = ThreadingHTTPServer((host, port), Handler)
    except OSError as exc:
        from nasforge.errors import ConfigError

        raise ConfigError(
            f"cannot listen on {host}:{port}: {exc.strerror or exc}; "
            "pass another --port (or --port 0 for any free one)"
        ) from exc
    server.daemon_threads = True
    server.dashboard = board  # type: ignore[attr-defined]
    return server
