# labelkit: the portal in one container.
#
#   docker build -t labelkit .
#   docker run -p 8501:8501 -v labelkit-data:/data \
#     -e LABELKIT_SECRET_KEY=$(python3 -c "import secrets; print(secrets.token_urlsafe(48))") \
#     -e LABELKIT_ADMIN_EMAIL=admin@example.com -e LABELKIT_ADMIN_PASSWORD=change-me labelkit
#
# Data (SQLite database, media, exports) lives in the /data volume; LABELKIT_DATABASE_URL
# points at PostgreSQL instead (docker-compose.yml). The image is production by default,
# so it needs LABELKIT_SECRET_KEY (32+ characters) and refuses to start without it.
# A local .streamlit/secrets.toml is never copied in: mount one at run time
# (/app/.streamlit/secrets.toml). More: docs/deploy.md.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_ROOT_USER_ACTION=ignore

WORKDIR /app

# Dependencies first, from pyproject.toml alone, so a change to the code reuses this
# layer. Only the runtime dependencies: no [test] extra. Every one has a manylinux wheel,
# so no compiler is needed.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install --no-cache-dir -r /tmp/requirements.txt \
 && rm /tmp/requirements.txt

# The package is installed editable because the server also needs app.py, pages/ and the
# Alembic migrations in db/ beside it (labelkit.db and labelkit.server find them from the
# package's parent directory). Only what the server runs is copied: no tests, no .git,
# no local data.
COPY README.md ./
COPY labelkit ./labelkit
COPY app.py ./
COPY pages ./pages
COPY db ./db
COPY .streamlit/config.toml ./.streamlit/config.toml
RUN pip install --no-cache-dir --no-deps -e /app

# A user without privileges that owns only /data.
RUN useradd --uid 10001 --user-group --no-create-home --home-dir /data --shell /usr/sbin/nologin labelkit \
 && mkdir -p /data \
 && chown labelkit:labelkit /data

ENV LABELKIT_DATA_DIR=/data \
    LABELKIT_ENV=production \
    HOME=/data
USER 10001:10001
VOLUME ["/data"]
EXPOSE 8501

# No curl in the slim image: Python fails the check on anything but a 200 from both the
# Streamlit server and labelkit's own routes.
HEALTHCHECK --interval=30s --timeout=10s --start-period=90s --retries=3 \
  CMD ["python", "-c", "import urllib.request as u; [u.urlopen('http://127.0.0.1:8501' + p, timeout=8) for p in ('/_stcore/health', '/api/health')]"]

# `labelkit serve` applies migrations, creates the first admin from LABELKIT_ADMIN_EMAIL /
# LABELKIT_ADMIN_PASSWORD when there is none, then runs uvicorn.
CMD ["labelkit", "serve", "--host", "0.0.0.0", "--port", "8501"]
