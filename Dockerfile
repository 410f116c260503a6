# labelkit: the portal in one container. Data (SQLite, media, exports) lives in /data;
# set LABELKIT_DATABASE_URL to use PostgreSQL instead (see docker-compose.yml).
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    LABELKIT_DATA_DIR=/data

WORKDIR /app
# app.py, pages/, db/ and .streamlit/ sit beside the package, so install it editable.
COPY pyproject.toml README.md ./
COPY labelkit ./labelkit
RUN pip install -e . && useradd --create-home --uid 1000 labelkit && mkdir /data && chown labelkit /data
COPY app.py ./
COPY pages ./pages
COPY db ./db
COPY .streamlit/config.toml ./.streamlit/config.toml

USER labelkit
VOLUME /data
EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s \
  CMD python -c "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8501/_stcore/health', timeout=4)"
CMD ["labelkit", "serve", "--host", "0.0.0.0", "--port", "8501"]
