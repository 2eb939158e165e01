# Tongxing app image: one process type, stateless; configuration only through TONGXING_*.
FROM python:3.11-slim-bookworm

ENV PYTHONDONTWRITEBYTECODE=1 PYTHONUNBUFFERED=1 PIP_NO_CACHE_DIR=1
RUN useradd --system --uid 10001 --home-dir /var/lib/tongxing tongxing \
    && install -d -o tongxing -g tongxing -m 0700 /var/lib/tongxing

# Generated seal images draw Chinese text: fontconfig finds this CJK font.
RUN apt-get update -qq \
    && apt-get install -y -qq --no-install-recommends fontconfig fonts-noto-cjk \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
COPY pyproject.toml README.md ./
COPY core ./core
COPY keys ./keys
COPY audit ./audit
COPY idp ./idp
COPY seal ./seal
COPY tongxing ./tongxing
RUN pip install .

USER tongxing
ENV TONGXING_DATA_DIR=/var/lib/tongxing
EXPOSE 8000
HEALTHCHECK --interval=10s --timeout=3s --retries=3 \
    CMD ["python", "-c", "import urllib.request,sys; sys.exit(0 if urllib.request.urlopen('http://127.0.0.1:8000/readyz', timeout=2).status == 200 else 1)"]
CMD ["tongxing", "serve", "--host", "0.0.0.0", "--port", "8000", "--workers", "2"]
