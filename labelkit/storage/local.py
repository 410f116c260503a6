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
from functools import lru_cache
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


def has_dot_segments(data_path: str) -> bool:
    """Whether a data path climbs (a `..` or `.` segment, a backslash), written plainly or
    percent-encoded (once or twice): such a path is refused, whatever a file system or a web
    server would make of it."""
    if data_path.startswith(UPLOAD_PREFIX):
        name = data_path[len(UPLOAD_PREFIX):].split("?", 1)[0]
    else:
        name = data_path.removeprefix(LOCAL_FILES_PREFIX)
    for spelling in (name, unquote(name), unquote(unquote(name))):
        if "\\" in spelling or {".", ".."} & set(spelling.split("/")):
            return True
    return False


def upload_folder(path: Path) -> str | None:
    """The folder under the upload folder (a project's id, or "samples") a resolved file is
    in; None for a file outside the upload folder (a server-folder file)."""
    root = upload_root().resolve()
    return path.relative_to(root).parts[0] if root in path.parents else None


def resolve_for(data_path: str, project_id: int | None) -> Path:
    """The file a task of this project names, for reading on its behalf: its own uploads,
    the bundled samples and server-folder files, checked on the file it really is (after
    symbolic links), so no spelling reaches another project's upload. Every server-side read
    of a local file for task data goes through here. project_id None: samples and
    server-folder files only."""
    if not _named_well(data_path, project_id):
        raise NotFound(f"{data_path} is not a file of this project (another project's, or a path that climbs).")
    path = resolve(data_path)
    if not _in_project(path, project_id):
        raise NotFound(f"{data_path} is not a file of this project (another project's, or a path that climbs).")
    return path


def foreign_files(data: object, project_id: int) -> list[str]:
    """The file paths in a task's data (at any depth) that a task of this project may not
    name: another project's uploads, paths that climb, server-folder paths that lead into
    another project's uploads. A file that is not there (yet) is not refused here;
    resolve_for checks it again whenever it is read. Uploads are named by labelkit, so
    their names are checked; the server folder's files are looked at only when the upload
    folder lies inside it."""
    found: list[str] = []
    stack = [data]
    while stack:
        value = stack.pop()
        if isinstance(value, dict):
            stack.extend(value.values())
        elif isinstance(value, list):
            stack.extend(value)
        elif isinstance(value, str) and is_local(value.strip()):
            path = value.strip()
            into_uploads = path.startswith(LOCAL_FILES_PREFIX) and _uploads_in_server_folder()
            if not _named_well(path, project_id) or (into_uploads and not _server_file_ok(path, project_id)):
                found.append(path)
    return found


def _uploads_in_server_folder() -> bool:
    """Whether the upload folder lies inside LABELKIT_LOCAL_FILES_ROOT (then a server-folder
    path can name an upload)."""
    settings = get_settings()
    return _contains(settings.local_files_root, settings.media_dir / "upload")


@lru_cache(maxsize=8)
def _contains(outer: Path | None, inner: Path) -> bool:
    if outer is None:
        return False
    outer, inner = outer.resolve(), inner.resolve()
    return outer == inner or outer in inner.parents


def _server_file_ok(data_path: str, project_id: int) -> bool:
    try:
        return _in_project(resolve(data_path), project_id)
    except NotFound:
        return True
    except InvalidInput:  # a link out of the folder
        return False


def _named_well(data_path: str, project_id: int | None) -> bool:
    return not has_dot_segments(data_path) and readable_by(data_path, project_id if project_id is not None else -1)


def _in_project(path: Path, project_id: int | None) -> bool:
    return upload_folder(path) in (None, "samples", str(project_id) if project_id is not None else "samples")


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


def _signature(path: str, expires: int, account: str = "") -> str:
    bound = f"|{account}" if account else ""  # links made before links were bound keep their meaning
    mac = hmac.new(get_settings().signing_key(), f"{_canonical(path)}|{expires}{bound}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(mac[:18]).decode()


def signed_url(data_path: str, seconds: int = 3600, align: int = 0, account: int | None = None) -> str:
    """A link a browser tag or a model server can fetch without a session, until it expires.
    With align, the expiry is rounded up to a multiple of it, so the link stays the same
    across reruns (a canvas does not reload its background). With account, the link is
    bound to that account (u=<id>, signed): it works only while the account may still see
    the file, so removing someone from a project ends their links to its uploads at once.
    A link to a project's upload must be bound (the media route refuses it otherwise)."""
    expires = int(time.time()) + seconds
    if align:
        expires += -expires % align
    bound = str(account) if account is not None else ""
    query = urlencode({**({"u": bound} if bound else {}), "exp": expires, "sig": _signature(data_path, expires, bound)})
    if data_path.startswith(LOCAL_FILES_PREFIX):  # the name is already a query: ?d=<path>
        return f"{LOCAL_FILES_PREFIX}{quote(unquote(data_path[len(LOCAL_FILES_PREFIX):]))}&{query}"
    return f"{quote(data_path)}?{query}"


def signature_valid(data_path: str, expires: str | None, signature: str | None, account: str | None = None) -> bool:
    """Whether a link's signature holds for this file, expiry and account (u, "" for none)."""
    if not expires or not signature or not expires.isdigit() or int(expires) < time.time():
        return False
    return hmac.compare_digest(_signature(data_path, int(expires), account or ""), signature)
