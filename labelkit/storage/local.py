"""Media files on this machine, addressed by Label Studio's paths: uploads under
LABELKIT_DATA_DIR/media (/data/upload/<project>/<file>) and files left in a server folder
under LABELKIT_LOCAL_FILES_ROOT (/data/local-files/?d=<path under it>). Served only through
signed, expiring links or to a signed-in session, never from outside those folders."""

from __future__ import annotations

import base64
import hashlib
import hmac
import re
import shutil
import time
import uuid
from pathlib import Path
from typing import BinaryIO
from urllib.parse import quote, unquote, urlencode

from labelkit.errors import InvalidInput, NotFound
from labelkit.settings import get_settings

UPLOAD_PREFIX = "/data/upload/"
LOCAL_FILES_PREFIX = "/data/local-files/?d="
SAMPLES_DIR = Path(__file__).resolve().parent.parent / "samples"
_SAFE = re.compile(r"[^A-Za-z0-9._-]+")


def upload_root() -> Path:
    return get_settings().media_dir / "upload"


def save_upload(project_id: int, filename: str, content: bytes | BinaryIO) -> str:
    """Store an uploaded file (bytes, or a stream copied in chunks); returns its data path
    for the task."""
    name = _SAFE.sub("_", Path(filename).name).strip("._") or "file"
    stored = f"{uuid.uuid4().hex[:8]}-{name[-120:]}"
    folder = upload_root() / str(project_id)
    folder.mkdir(parents=True, exist_ok=True)
    if isinstance(content, bytes):
        (folder / stored).write_bytes(content)
    else:
        with (folder / stored).open("wb") as out:
            shutil.copyfileobj(content, out, 1024 * 1024)
    return f"{UPLOAD_PREFIX}{project_id}/{stored}"


def is_local(value: str) -> bool:
    """Whether a task value names a file this server holds (an upload or a server-folder file)."""
    return value.startswith((UPLOAD_PREFIX, LOCAL_FILES_PREFIX))


def readable_by(data_path: str, project_id: int) -> bool:
    """Whether a project's tasks may name this file: its own uploads, the bundled samples,
    and server-folder files (which the admin shared with every project)."""
    if data_path.startswith(UPLOAD_PREFIX):
        return data_path[len(UPLOAD_PREFIX):].split("/", 1)[0] in (str(project_id), "samples") and ".." not in data_path
    return data_path.startswith(LOCAL_FILES_PREFIX)


def local_files_root() -> Path | None:
    root = get_settings().local_files_root
    return root.resolve() if root else None


def local_file_path(relative: str) -> str:
    """The data path of a file under LABELKIT_LOCAL_FILES_ROOT (as Label Studio writes it)."""
    return f"{LOCAL_FILES_PREFIX}{quote(relative)}"


def resolve(data_path: str) -> Path:
    """The file behind /data/upload/... or /data/local-files/?d=..., never outside its folder."""
    if data_path.startswith(UPLOAD_PREFIX):  # a signed link's ?exp=...&sig=... is not part of the name
        root, relative, folder = upload_root().resolve(), data_path[len(UPLOAD_PREFIX):].split("?", 1)[0], "the upload folder"
    elif data_path.startswith(LOCAL_FILES_PREFIX):
        root, relative, folder = local_files_root(), unquote(data_path[len(LOCAL_FILES_PREFIX):]), "LABELKIT_LOCAL_FILES_ROOT"
        if root is None:
            raise NotFound("Files on the server are not served here (LABELKIT_LOCAL_FILES_ROOT is not set).")
    else:
        raise NotFound(f"{data_path} is not a file on this server.")
    path = (root / relative).resolve()
    if root not in path.parents:
        raise InvalidInput(f"That path leaves {folder}.")
    if not path.is_file():
        raise NotFound(f"{data_path} does not exist.")
    return path


def install_samples() -> None:
    """Copy the bundled sample media (images, audio, video, CSV, HTML, PDF) to
    /data/upload/samples/ (templates and the demo use them)."""
    folder = upload_root() / "samples"
    folder.mkdir(parents=True, exist_ok=True)
    for source in SAMPLES_DIR.iterdir():
        if not source.is_file() or source.name.startswith((".", "_")) or source.suffix == ".py":
            continue
        target = folder / source.name
        if not target.exists():
            shutil.copyfile(source, target)


def _canonical(data_path: str) -> str:
    """One spelling per file for signatures: a local-files path with its name unquoted."""
    if data_path.startswith(LOCAL_FILES_PREFIX):
        return LOCAL_FILES_PREFIX + unquote(data_path[len(LOCAL_FILES_PREFIX):])
    return data_path


def _signature(path: str, expires: int) -> str:
    mac = hmac.new(get_settings().signing_key(), f"{_canonical(path)}|{expires}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode()


def signed_url(data_path: str, seconds: int = 3600, align: int = 0) -> str:
    """A link a browser tag or a model server can fetch without a session, until it expires.
    With align, the expiry is rounded up to a multiple of it, so the link stays the same
    across reruns (a canvas does not reload its background)."""
    expires = int(time.time()) + seconds
    if align:
        expires += -expires % align
    query = urlencode({"exp": expires, "sig": _signature(data_path, expires)})
    if data_path.startswith(LOCAL_FILES_PREFIX):  # the name is already a query: ?d=<path>
        return f"{LOCAL_FILES_PREFIX}{quote(unquote(data_path[len(LOCAL_FILES_PREFIX):]))}&{query}"
    return f"{quote(data_path)}?{query}"


def signature_valid(data_path: str, expires: str | None, signature: str | None) -> bool:
    if not expires or not signature or not expires.isdigit() or int(expires) < time.time():
        return False
    return hmac.compare_digest(_signature(data_path, int(expires)), signature)
