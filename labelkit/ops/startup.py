"""What a portal does once per process before it serves: the data dir and signing key,
migrations, sample media, the first admin, the trash purge and the sweep of media that an
import killed mid-way left behind. `labelkit serve`, the ASGI server and the Streamlit
script (when run on its own) all start here."""

from __future__ import annotations

from labelkit.db import migrate, session_scope, startup_lock
from labelkit.settings import get_settings


def prepare() -> None:
    """Everything a fresh data dir or a new version needs before serving."""
    from labelkit.auth.accounts import ensure_first_admin
    from labelkit.importers import journal
    from labelkit.projects.trash import _purge_expired
    from labelkit.storage import local

    settings = get_settings()
    settings.data_dir.mkdir(parents=True, exist_ok=True)
    settings.signing_key()
    migrate()
    local.install_samples()
    with session_scope() as session:
        startup_lock(session)  # another replica may be starting on the same database
        ensure_first_admin(session, settings)
        _purge_expired(session)
        journal._sweep(session)  # media of imports a killed process never committed
