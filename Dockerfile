# CLR Studio in a container.
#   docker build -t clr-studio .                              # CUDA-capable torch (large)
#   docker build -t clr-studio --build-arg TORCH_INDEX=cpu .  # CPU-only torch (small)
#   docker run -p 8501:8501 clr-studio                        # then open http://localhost:8501
#   docker run --gpus all -p 8501:8501 clr-studio             # with a GPU (NVIDIA Container Toolkit)
FROM python:3.11-slim

# "cpu" installs torch/torchvision from PyTorch's CPU wheel index first; "default" takes PyPI's.
ARG TORCH_INDEX=default

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    CLR_STUDIO_DATA=/data \
    CLR_STUDIO_DB=/data/runs.db

# chromium: kaleido renders the Learn page's PNG/SVG figure downloads through it, offline.
RUN apt-get update \
    && apt-get install -y --no-install-recommends curl chromium \
    && rm -rf /var/lib/apt/lists/*

WORKDIR /app
# The runtime dependencies from pyproject.toml first: this layer is rebuilt only when
# pyproject.toml changes, not on every change of the code.
COPY pyproject.toml /tmp/src/pyproject.toml
RUN python -c "import tomllib; print('\n'.join(tomllib.load(open('/tmp/src/pyproject.toml', 'rb'))['project']['dependencies']))" > /tmp/requirements.txt \
    && if [ "$TORCH_INDEX" = "cpu" ]; then \
        pip install --index-url https://download.pytorch.org/whl/cpu \
            "$(grep '^torch==' /tmp/requirements.txt)" "$(grep '^torchvision==' /tmp/requirements.txt)"; \
    fi \
    && pip install -r /tmp/requirements.txt

# The package itself (clr_core and the app, as the wheel ships them); the source goes again.
COPY . /tmp/src
RUN pip install --no-deps /tmp/src && rm -rf /tmp/src /tmp/requirements.txt

RUN useradd --create-home --uid 1000 clr \
    && mkdir -p /data && chown -R clr:clr /data /app
USER clr
VOLUME ["/data"]

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD curl --fail http://localhost:8501/_stcore/health || exit 1

# `clr-studio app` adds --browser.gatherUsageStats=false, as scripts/app.sh does.
ENTRYPOINT ["clr-studio", "app", "--server.port=8501", "--server.address=0.0.0.0", \
            "--server.headless=true"]
