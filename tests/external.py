"""Test data from outside the repository, found without absolute paths.

Each item comes from ``../shared/`` beside the repository root when that folder is there (the
team's layout); else from a pinned, checksummed copy: the Debian FAQ from Debian's package
registry (``apt-get download``) into a cache folder, the docutils documentation (no
``../shared`` copy) from its source distribution on PyPI (``pip download``) into the same
cache folder, the Discord OpenAPI spec from the copy vendored in ``tests/fakediscord/spec/``.
When an item cannot be had, the lookup raises :class:`Unavailable` with a one-line reason,
which :func:`require` turns into a pytest skip.

The cache folder is ``$ASKDOCS_TEST_CACHE``, default ``~/.cache/askdocs-tests``. Every write to
it is atomic (a temporary folder, then ``os.replace``). Without apt, drop
``debian-faq_11.1_all.deb`` (any Debian mirror's ``pool/main/d/debian-faq/``) into the cache
folder: it is checked against the pinned sha256 and unpacked in pure Python. Likewise without
pip or PyPI, drop ``docutils-0.23.tar.gz`` (PyPI's sdist) there.

Also used by ``bench/bench_engine.py``; pytest is only imported by :func:`require`.
"""

from __future__ import annotations

import gzip
import hashlib
import io
import json
import os
import shutil
import signal
import subprocess
import sys
import tarfile
import tempfile
from collections.abc import Callable
from pathlib import Path
from typing import TypeVar

REPO = Path(__file__).resolve().parent.parent
SHARED = REPO.parent / "shared"

DEBIAN_FAQ_PACKAGE = "debian-faq"
DEBIAN_FAQ_VERSION = "11.1"
DEBIAN_FAQ_DEB = f"{DEBIAN_FAQ_PACKAGE}_{DEBIAN_FAQ_VERSION}_all.deb"
DEBIAN_FAQ_DEB_SHA256 = "427426e0cfa6888622fc1d72631071cb4b5a1f86ccde722e7820bcef284de5d0"
DEBIAN_FAQ_MEMBERS = "usr/share/doc/debian/FAQ/"  # its *.en.html are the shared corpus
DEBIAN_FAQ_PAGES = 17
SUMS = ".sha256sums.json"  # hidden: the loaders skip it

DOCUTILS_VERSION = "0.23"
DOCUTILS_SDIST = f"docutils-{DOCUTILS_VERSION}.tar.gz"
DOCUTILS_SDIST_SHA256 = "746f5060322511280a1e50eb76846ed6bf2342984b2ac04dc42caa1a8d78799e"
# The reST documentation read as a corpus, as paths relative to the sdist's top folder (and to
# the corpus folder): picked from the tarball by exact name, so nothing else is ever written.
DOCUTILS_USER_DOCS = ("config", "emacs", "html", "latex", "links", "mailing-lists", "manpage",
                      "odt", "slide-shows", "smartquotes", "todo-lists", "tools")  # fmt: skip
DOCUTILS_DOCS = ("FAQ.rst", *(f"docs/user/{name}.rst" for name in DOCUTILS_USER_DOCS))
# The whole documentation: every regular *.rst file in the sdist's top folder and under docs/.
DOCUTILS_ALL_DOCS = 67

VENDORED_SPEC = Path(__file__).resolve().parent / "fakediscord" / "spec" / "openapi.json.gz"
SPEC_SHA256 = "8c1d0707ccdf8e380a86dfba04058820a66435c1b69d5ed82e04dd8c0520dd73"  # uncompressed

APT_DOWNLOAD_TIMEOUT = 120.0
APT_UPDATE_TIMEOUT = 300.0
PIP_DOWNLOAD_TIMEOUT = 300.0  # pip also builds the sdist's metadata (fetching flit_core)

T = TypeVar("T")


class Unavailable(RuntimeError):
    """Data that cannot be had here; ``str()`` is a one-line reason."""


def require(lookup: Callable[[], T]) -> T:
    """``lookup()``, or skip the calling test (or fixture) with the one-line reason."""
    try:
        return lookup()
    except Unavailable as exc:
        import pytest

        pytest.skip(str(exc))


def cache_dir() -> Path:
    env = os.environ.get("ASKDOCS_TEST_CACHE")
    return Path(env).expanduser() if env else Path.home() / ".cache" / "askdocs-tests"


def shared_file(relative: str) -> Path:
    """``../shared/<relative>``; these items have no public source."""
    path = SHARED / relative
    if not path.exists():
        raise Unavailable(f"needs ../shared/{relative} beside the repository (not present)")
    return path


def sha256_bytes(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


# -- the Discord OpenAPI spec ---------------------------------------------------------------------


def openapi_spec_path() -> Path:
    """``../shared/discord-api-spec/openapi.json``, else the vendored gzip copy (read either
    with :func:`read_openapi_spec`, which checks the vendored copy's sha256). The vendored
    copy is tracked in the repository, so there is always a spec: a missing or altered copy
    is a broken checkout and fails loudly rather than skipping the end-to-end tests."""
    shared = SHARED / "discord-api-spec" / "openapi.json"
    return shared if shared.is_file() else VENDORED_SPEC


def read_openapi_spec(path: Path) -> bytes:
    """The spec's JSON bytes; a ``.gz`` is decompressed, the vendored copy is verified."""
    data = path.read_bytes()
    if path.suffix == ".gz":
        data = gzip.decompress(data)
    if path.resolve() == VENDORED_SPEC and sha256_bytes(data) != SPEC_SHA256:
        raise ValueError(f"{path}: the JSON does not have the pinned sha256 {SPEC_SHA256}")
    return data


# -- the Debian FAQ -------------------------------------------------------------------------------

_memo: dict[str, Path | Unavailable] = {}


def _remembered(key: str, lookup: Callable[[], Path]) -> Path:
    """``lookup()``, or the reason it failed, remembered for the rest of the process."""
    if key not in _memo:
        try:
            _memo[key] = lookup()
        except Unavailable as exc:
            _memo[key] = exc
    found = _memo[key]
    if isinstance(found, Unavailable):
        raise found
    return found


def debian_faq_dir() -> Path:
    """A folder holding the Debian FAQ's 17 ``*.en.html`` pages (read-only: copy before use).

    ``../shared/corpora/debian-faq`` when present, else the pages of Debian's ``debian-faq``
    11.1 package (sha256-pinned), unpacked once into the cache folder. The answer (or the
    reason it cannot be had) is remembered for the rest of the process."""
    return _remembered("debian", _debian_faq_dir)


def _debian_faq_dir() -> Path:
    shared = SHARED / "corpora" / "debian-faq"
    if any(shared.glob("*.en.html")):
        return shared
    return _unpacked_once(
        "Debian FAQ",
        f"{DEBIAN_FAQ_PACKAGE}-{DEBIAN_FAQ_VERSION}",
        DEBIAN_FAQ_DEB,
        DEBIAN_FAQ_DEB_SHA256,
        _apt_download,
        _faq_pages,
        _pages_intact,
    )


def _unpacked_once(
    label: str,
    folder: str,
    archive: str,
    sha256: str,
    download: Callable[[Path, Path], None],
    extract: Callable[[bytes], dict[str, bytes]],
    intact: Callable[[Path], bool],
) -> Path:
    """``folder`` in the cache when ``intact``; else ``archive`` (kept in the cache with its
    checksum, fetched by ``download`` when missing or damaged) unpacked by ``extract`` and
    published there atomically."""
    cache = cache_dir()
    target = cache / folder
    if intact(target):
        return target
    try:
        cache.mkdir(parents=True, exist_ok=True)
        kept = cache / archive
        if not (kept.is_file() and sha256_bytes(kept.read_bytes()) == sha256):
            download(cache, kept)
        _publish_pages(cache, target, extract(kept.read_bytes()), intact=intact)
    except OSError as exc:
        raise Unavailable(f"{label}: cannot use the cache folder {cache}: {exc}") from exc
    return target


def _pages_intact(folder: Path) -> bool:
    try:
        sums = json.loads((folder / SUMS).read_text(encoding="utf-8"))
        on_disk = {p.name for p in folder.glob("*.en.html")}
        return (
            len(sums) == DEBIAN_FAQ_PAGES
            and on_disk == set(sums)
            and all(sha256_bytes((folder / n).read_bytes()) == h for n, h in sums.items())
        )
    except (OSError, ValueError, AttributeError):
        return False


def _apt_download(cache: Path, deb: Path) -> None:
    """``apt-get download debian-faq=11.1`` into ``deb``, checksum verified (atomic)."""
    spec = f"{DEBIAN_FAQ_PACKAGE}={DEBIAN_FAQ_VERSION}"
    if shutil.which("apt-get") is None:
        raise Unavailable(
            f"Debian FAQ: no ../shared/corpora/debian-faq, no apt-get to fetch {spec}, "
            f"and no {DEBIAN_FAQ_DEB} in {cache}"
        )
    work = Path(tempfile.mkdtemp(prefix=".download-", dir=cache))
    try:
        work.chmod(0o755)  # lets apt's unprivileged _apt user write there (no warning)
        download = ["apt-get", "download", "-q", spec]
        error = _run(download, work, APT_DOWNLOAD_TIMEOUT)
        if error and hasattr(os, "geteuid") and os.geteuid() == 0:  # package lists empty?
            error = _run(["apt-get", "update", "-qq"], work, APT_UPDATE_TIMEOUT)
            error = error or _run(download, work, APT_DOWNLOAD_TIMEOUT)
        if error:
            raise Unavailable(f"Debian FAQ: cannot fetch {spec} with apt-get: {error}")
        _accept(work / DEBIAN_FAQ_DEB, deb, DEBIAN_FAQ_DEB_SHA256,
                f"Debian FAQ: `apt-get download {spec}`")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _accept(fetched: Path, dest: Path, sha256: str, how: str) -> None:
    """Move the downloaded ``fetched`` to ``dest`` if it has the pinned ``sha256``; else
    Unavailable, saying ``how`` it was fetched."""
    if not fetched.is_file():
        raise Unavailable(f"{how} left no {fetched.name}")
    digest = sha256_bytes(fetched.read_bytes())
    if digest != sha256:
        raise Unavailable(f"{how}: {fetched.name} has sha256 {digest}, not {sha256}")
    os.replace(fetched, dest)


def _run(cmd: list[str], cwd: Path, timeout: float) -> str:
    """Run ``cmd``; "" on success, else a one-line reason. On timeout its whole process group
    (apt's download helpers too) is ended."""
    env = os.environ | {"LC_ALL": "C", "DEBIAN_FRONTEND": "noninteractive"}
    try:
        proc = subprocess.Popen(
            cmd,
            cwd=cwd,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            text=True,
            start_new_session=True,
        )
    except OSError as exc:
        return f"cannot run {cmd[0]}: {exc.strerror or exc}"
    try:
        out, _ = proc.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate()
        return f"timed out after {timeout:.0f} s"
    if proc.returncode == 0:
        return ""
    lines = [line.strip() for line in out.splitlines() if line.strip()]
    errors = [line for line in lines if line.startswith(("E:", "ERROR:"))] or lines or ["no output"]
    return f"exit status {proc.returncode}: {errors[-1]}"


def _faq_pages(deb: bytes) -> dict[str, bytes]:
    """The ``*.en.html`` pages of the FAQ folder in a .deb, unpacked in pure Python
    (an ``ar`` archive holding ``data.tar.*``), as name -> bytes."""
    data = _ar_members(deb)
    name = next((n for n in data if n.startswith("data.tar")), None)
    if name is None:
        raise Unavailable(f"Debian FAQ: {DEBIAN_FAQ_DEB} has no data.tar member")
    pages: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(data[name]), mode="r:*") as tar:
            for member in tar:
                path = member.name.removeprefix("./")
                page = path.removeprefix(DEBIAN_FAQ_MEMBERS)
                if (
                    path.startswith(DEBIAN_FAQ_MEMBERS)
                    and member.isfile()
                    and "/" not in page
                    and page.endswith(".en.html")
                ):
                    fh = tar.extractfile(member)
                    assert fh is not None
                    pages[page] = fh.read()
    except (tarfile.TarError, EOFError, OSError) as exc:  # e.g. a compression Python lacks
        raise Unavailable(f"Debian FAQ: cannot unpack {name} of {DEBIAN_FAQ_DEB}: {exc}") from exc
    if len(pages) != DEBIAN_FAQ_PAGES:
        raise Unavailable(
            f"Debian FAQ: {DEBIAN_FAQ_DEB} holds {len(pages)} pages, not {DEBIAN_FAQ_PAGES}"
        )
    return pages


def _ar_members(data: bytes) -> dict[str, bytes]:
    if not data.startswith(b"!<arch>\n"):
        raise Unavailable(f"Debian FAQ: {DEBIAN_FAQ_DEB} is not an ar archive")
    members: dict[str, bytes] = {}
    pos = 8
    while pos + 60 <= len(data):
        header = data[pos : pos + 60]
        name = header[:16].decode("ascii", "replace").strip().rstrip("/")
        size = int(header[48:58].decode("ascii").strip() or 0)
        members[name] = data[pos + 60 : pos + 60 + size]
        pos += 60 + size + (size % 2)
    return members


def _publish_pages(
    cache: Path,
    target: Path,
    pages: dict[str, bytes],
    intact: Callable[[Path], bool],
) -> None:
    """Write ``pages`` (relative path -> bytes, plus their checksums) as ``target``,
    atomically; ``intact`` tells whether a folder another process published will do."""
    tmp = Path(tempfile.mkdtemp(prefix=f".{target.name}-", dir=cache))
    try:
        for name, content in pages.items():
            (tmp / name).parent.mkdir(parents=True, exist_ok=True)
            (tmp / name).write_bytes(content)
        sums = {name: sha256_bytes(content) for name, content in sorted(pages.items())}
        (tmp / SUMS).write_text(json.dumps(sums, indent=1), encoding="utf-8")
        tmp.chmod(0o755)
        if target.exists():  # damaged or partial: move it aside first
            aside = Path(tempfile.mkdtemp(prefix=f".{target.name}-old-", dir=cache))
            os.replace(target, aside / "old")
            shutil.rmtree(aside, ignore_errors=True)
        os.replace(tmp, target)
    except OSError:
        if intact(target):  # another process just published the same pages
            return
        raise
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


# -- the docutils documentation -------------------------------------------------------------------


def docutils_docs_dir() -> Path:
    """A folder holding docutils 0.23's reST documentation (read-only: copy before use):
    ``FAQ.rst`` and the 12 ``docs/user/*.rst`` files (:data:`DOCUTILS_DOCS`), taken from PyPI's
    sdist (sha256-pinned) and unpacked once into the cache folder. The answer (or the reason it
    cannot be had) is remembered for the rest of the process."""
    return _remembered("docutils", _docutils_docs_dir)


def _docutils_docs_dir() -> Path:
    return _unpacked_once(
        "docutils docs",
        f"docutils-{DOCUTILS_VERSION}-docs",
        DOCUTILS_SDIST,
        DOCUTILS_SDIST_SHA256,
        _pip_download,
        _docutils_files,
        _docs_intact,
    )


def docutils_all_docs_dir() -> Path:
    """A folder holding docutils 0.23's whole reST documentation (read-only: copy before
    use): the :data:`DOCUTILS_ALL_DOCS` ``*.rst`` files of the sdist's top folder and of
    ``docs/`` and its subfolders (1.7 MB), from the same pinned sdist as
    :func:`docutils_docs_dir`, unpacked once into the cache folder."""
    return _remembered("docutils-all", _docutils_all_docs_dir)


def _docutils_all_docs_dir() -> Path:
    return _unpacked_once(
        "docutils docs",
        f"docutils-{DOCUTILS_VERSION}-all-docs",
        DOCUTILS_SDIST,
        DOCUTILS_SDIST_SHA256,
        _pip_download,
        _docutils_all_files,
        _all_docs_intact,
    )


def _all_docs_intact(folder: Path) -> bool:
    return _rst_intact(folder, lambda names: len(names) == DOCUTILS_ALL_DOCS)


def _docutils_all_files(sdist: bytes) -> dict[str, bytes]:
    """Every regular ``*.rst`` member of the sdist's top folder and of ``docs/``, as
    relative path -> bytes. A name with an empty, ``.`` or ``..`` part is refused, so nothing
    can land outside the target folder; nothing is extracted to disk by tarfile."""
    top = f"docutils-{DOCUTILS_VERSION}/"
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(sdist), mode="r:gz") as tar:
            for member in tar.getmembers():
                name = member.name[len(top) :] if member.name.startswith(top) else ""
                parts = name.split("/")
                wanted = name.endswith(".rst") and (len(parts) == 1 or parts[0] == "docs")
                if not wanted or not member.isfile():
                    continue
                if any(part in ("", ".", "..") for part in parts):
                    raise Unavailable(f"docutils docs: unsafe member name {member.name!r}")
                fh = tar.extractfile(member)
                if fh is None:
                    raise Unavailable(f"docutils docs: {member.name} is not a regular file")
                files[name] = fh.read()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise Unavailable(f"docutils docs: cannot unpack {DOCUTILS_SDIST}: {exc}") from exc
    if len(files) != DOCUTILS_ALL_DOCS:
        reason = f"{len(files)} *.rst files, not {DOCUTILS_ALL_DOCS}"
        raise Unavailable(f"docutils docs: {DOCUTILS_SDIST} holds {reason}")
    return files


def _docs_intact(folder: Path) -> bool:
    return _rst_intact(folder, lambda names: names == set(DOCUTILS_DOCS))


def _rst_intact(folder: Path, expected: Callable[[set[str]], bool]) -> bool:
    """Whether ``folder`` holds exactly the ``*.rst`` files its checksum file lists, each
    intact, and that list is the ``expected`` one."""
    try:
        sums = json.loads((folder / SUMS).read_text(encoding="utf-8"))
        on_disk = {p.relative_to(folder).as_posix() for p in folder.rglob("*.rst")}
        return (
            expected(set(sums))
            and set(sums) == on_disk
            and all(sha256_bytes((folder / n).read_bytes()) == h for n, h in sums.items())
        )
    except (OSError, ValueError, AttributeError):
        return False


def _pip_download(cache: Path, sdist: Path) -> None:
    """``pip download`` PyPI's docutils 0.23 sdist into ``sdist``, checksum verified (atomic)."""
    spec = f"docutils=={DOCUTILS_VERSION}"
    work = Path(tempfile.mkdtemp(prefix=".download-", dir=cache))
    try:
        download = [sys.executable, "-m", "pip", "download", "--no-deps", "--no-binary",
                    ":all:", "--disable-pip-version-check", "--no-input", "-q", "-d", str(work),
                    spec]  # fmt: skip
        error = _run(download, work, PIP_DOWNLOAD_TIMEOUT)
        if error:
            raise Unavailable(
                f"docutils docs: cannot fetch the {spec} sdist with pip ({error}), "
                f"and no {DOCUTILS_SDIST} with the pinned sha256 in {cache}"
            )
        _accept(work / DOCUTILS_SDIST, sdist, DOCUTILS_SDIST_SHA256,
                f"docutils docs: `pip download {spec}`")  # fmt: skip
    finally:
        shutil.rmtree(work, ignore_errors=True)


def _docutils_files(sdist: bytes) -> dict[str, bytes]:
    """The :data:`DOCUTILS_DOCS` files of the sdist, as relative path -> bytes. Members are
    looked up by exact name and must be regular files; nothing is extracted to disk by tarfile,
    so no member name can reach outside the target folder."""
    top = f"docutils-{DOCUTILS_VERSION}/"
    files: dict[str, bytes] = {}
    try:
        with tarfile.open(fileobj=io.BytesIO(sdist), mode="r:gz") as tar:
            for name in DOCUTILS_DOCS:
                try:
                    member = tar.getmember(top + name)
                except KeyError:
                    reason = f"docutils docs: {DOCUTILS_SDIST} has no {top}{name}"
                    raise Unavailable(reason) from None
                fh = tar.extractfile(member) if member.isfile() else None
                if fh is None:
                    raise Unavailable(f"docutils docs: {top}{name} is not a regular file")
                files[name] = fh.read()
    except (tarfile.TarError, EOFError, OSError) as exc:
        raise Unavailable(f"docutils docs: cannot unpack {DOCUTILS_SDIST}: {exc}") from exc
    return files
