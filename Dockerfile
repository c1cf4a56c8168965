# radplain: one image for the HTTP service (the default command, gunicorn on :8080) and the
# FHIR sync worker (`radplain sync`).
#
#   docker build -t radplain:0.1.0 .
#   docker run --rm -p 8080:8080 radplain:0.1.0
#   docker run --rm -e RADPLAIN_FHIR_BASE=https://ehr.example.org/fhir \
#     -e DATABASE_URL=postgresql+psycopg://... radplain:0.1.0 radplain sync
#
# The base image is pinned to an exact Python patch release on Debian 12; bump the tag
# deliberately (both stages use it, so the venv built in the first runs in the second).
ARG PYTHON_IMAGE=python:3.11.17-slim-bookworm

# ---------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS builder

ENV PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PIP_NO_CACHE_DIR=1 \
    PYTHONDONTWRITEBYTECODE=1

# A C toolchain for any dependency that has no wheel for the build platform (today every
# one has), and tini, whose static binary is the runtime stage's init. Versions are not
# pinned: this stage is thrown away, and Debian removes superseded versions from its
# mirrors, so a pin would break the build at the next security update.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends gcc libc6-dev tini \
 && rm -rf /var/lib/apt/lists/*

RUN python -m venv /opt/venv
ENV PATH=/opt/venv/bin:$PATH
WORKDIR /src

# Dependencies first, in their own layer: it is rebuilt only when pyproject.toml changes.
COPY pyproject.toml ./
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
 && pip install --no-cache-dir --requirement /tmp/requirements.txt

# Then radplain itself, as a wheel (not editable). service/mappings.py finds the reviewed
# data at <dir holding the service package>/mappings, so mappings/ goes beside the
# installed package in site-packages; both then work from any working directory, for
# gunicorn and for the `radplain` console script alike.
COPY README.md ./
COPY service ./service
COPY mappings ./mappings
COPY openapi ./openapi
RUN pip install --no-cache-dir --no-deps . \
 && site="$(python -c 'import sysconfig; print(sysconfig.get_paths()["purelib"])')" \
 && cp -r mappings "$site/mappings" \
 && cp -r openapi "$site/openapi" \
 && radplain check-mappings \
 && RADPLAIN_CACHE_DIR=/opt/radplain-cache python -P -c "from service import mappings; mappings.load_cached()" \
 && ls /opt/radplain-cache/radplain/mappings-*.json \
 && chmod -R a+rX /opt/radplain-cache
# ^ fails the build on invalid mappings, proves the installed package finds them (the
#   console script and `python -P` do not import ./service from the source tree), and
#   leaves the validated mappings cache (read-only at run time) so each process skips the
#   ~0.3 s schema validation at startup.

# ---------------------------------------------------------------------------------------
FROM ${PYTHON_IMAGE} AS runtime

LABEL org.opencontainers.image.title="radplain" \
      org.opencontainers.image.description="Plain-language explanations of radiology reports, delivered over FHIR R4" \
      org.opencontainers.image.licenses="Apache-2.0"

ENV PATH=/opt/venv/bin:$PATH \
    PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    RADPLAIN_CACHE_DIR=/opt/radplain-cache

# Reports as PDFs and photos (service/documents): Tesseract with its English and
# orientation (osd) data reads images and scanned pages, poppler's pdftoppm renders them.
# Unpinned for the reason given in the builder stage; the lists are removed after.
# hadolint ignore=DL3008
RUN apt-get update \
 && apt-get install -y --no-install-recommends tesseract-ocr tesseract-ocr-eng \
      tesseract-ocr-osd poppler-utils \
 && rm -rf /var/lib/apt/lists/*

RUN groupadd --gid 10001 radplain \
 && useradd --uid 10001 --gid 10001 --no-create-home --home-dir /nonexistent \
      --shell /usr/sbin/nologin radplain

# tini as PID 1: the kernel does not deliver SIGTERM to a PID 1 without a handler, and
# `radplain sync` installs none, so without an init the worker would sit out the whole
# grace period and be SIGKILLed. tini forwards the signal and reaps zombies.
COPY --from=builder /usr/bin/tini-static /usr/bin/tini
COPY --from=builder /opt/venv /opt/venv
COPY --from=builder /opt/radplain-cache /opt/radplain-cache

WORKDIR /app
COPY gunicorn.conf.py ./

# Everything above is owned by root and read-only to the service user.
USER 10001:10001
EXPOSE 8080

# slim has no curl; the HTTP service only (the worker's container should disable it).
HEALTHCHECK --interval=30s --timeout=5s --start-period=20s --retries=3 \
  CMD ["python", "-c", "import sys, urllib.request; sys.exit(urllib.request.urlopen('http://127.0.0.1:8080/healthz', timeout=4).status != 200)"]

ENTRYPOINT ["/usr/bin/tini", "--"]
CMD ["gunicorn", "-c", "gunicorn.conf.py", "service.wsgi:app"]
