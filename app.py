"""labelkit: the Streamlit entry point. Served by `labelkit serve` (labelkit.server:app)."""

from labelkit.ui.shell import run

run()
