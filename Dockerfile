# labelkit: the portal in one container.
#   docker build -t labelkit .
#   docker run -p 8501:8501 -v labelkit-data:/data labelkit
# Data (SQLite database, media, exports, the generated signing key) lives in the /data
# volume; set LABELKIT_DATABASE_URL to use PostgreSQL instead (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore \
    LABELKIT_DATA_DIR=/data

WORKDIR /app

# The wheel holds only the labelkit package; the server also needs app.py, pages/ and
# the Alembic migrations in db/ beside it (labelkit.db and labelkit.server find them
# from the package's parent directory), so the source tree goes to /app and is installed
# editable. Only what the server needs is copied: no .git, no local data, and never a
# local .streamlit/secrets.toml (mount one at run time instead).
COPY pyproject.toml README.md ./
COPY labelkit ./labelkit
RUN pip install -e /app
COPY app.py ./
COPY pages ./pages
COPY db ./db
COPY .streamlit/config.toml ./.streamlit/config.toml

# Run as a user without privileges; it owns only /data.
RUN useradd --create-home --uid 1000 --user-group labelkit \
 && mkdir -p /data \
 && chown labelkit:labelkit /data
USER labelkit
VOLUME /data

EXPOSE 8501
# python:3.11-slim has no curl; Python's urllib fails the check on a non-200 answer.
HEALTHCHECK --interval=30s --timeout=5s --start-period=60s --retries=3 \
  CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"]
# `labelkit serve` applies migrations, creates the first admin from LABELKIT_ADMIN_EMAIL /
# LABELKIT_ADMIN_PASSWORD when there is none, then runs uvicorn.
CMD ["labelkit", "serve", "--host", "0.0.0.0", "--port", "8501"]
