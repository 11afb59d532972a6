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
COPY requirements.txt .
RUN if [ "$TORCH_INDEX" = "cpu" ]; then \
        pip install --index-url https://download.pytorch.org/whl/cpu \
            "$(grep '^torch==' requirements.txt)" "$(grep '^torchvision==' requirements.txt)"; \
    fi \
    && pip install -r requirements.txt

COPY . .

RUN useradd --create-home --uid 1000 clr \
    && mkdir -p /data && chown -R clr:clr /data /app
USER clr
VOLUME ["/data"]

EXPOSE 8501
HEALTHCHECK --interval=30s --timeout=5s --start-period=30s --retries=3 \
    CMD curl --fail http://localhost:8501/_stcore/health || exit 1

ENTRYPOINT ["streamlit", "run", "app.py", "--server.port=8501", "--server.address=0.0.0.0", \
            "--server.headless=true", "--browser.gatherUsageStats=false"]
