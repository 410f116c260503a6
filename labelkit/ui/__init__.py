"""Streamlit widgets and page helpers (the only part of labelkit that imports streamlit)."""
