# The classifier service (stage 5a) without PyTorch: ONNX Runtime + FastAPI/uvicorn + gRPC.
#
#   docker build -t mlcourse-serve .
#   docker run --rm -p 8000:8000 -p 50051:50051 \
#       -v "$PWD/runs/stage4_own_data/bundles/support_inbox:/bundle:ro" -e MLCOURSE_API_KEY=change-me mlcourse-serve
#
# The bundle (with its ONNX export: `python -m stage5a_integration.export`) is mounted, not baked
# in, so one image serves every model version. Lint: `hadolint Dockerfile`.
FROM python:3.11-slim

ENV PYTHONDONTWRITEBYTECODE=1 \
    PYTHONUNBUFFERED=1 \
    PIP_NO_CACHE_DIR=1 \
    PIP_DISABLE_PIP_VERSION_CHECK=1 \
    PYTHONPATH=/app

WORKDIR /app

# Versions come from the project's constraints file (the same pins CI tests with).
COPY constraints.txt .
RUN pip install --no-cache-dir --constraint constraints.txt \
        numpy onnxruntime fastapi "uvicorn[standard]" grpcio grpcio-tools protobuf \
        prometheus-client

# The model side is the torch-free package common/bundle, whole; beside it only the service's
# code and the few toolkit modules its command line uses (a test checks this list against what
# the service really imports).
COPY common/bundle/ common/bundle/
COPY common/__init__.py common/distributed.py common/errors.py common/lesson.py common/paths.py \
     common/registry.py common/summary.py common/
COPY stage5a_integration/ stage5a_integration/

RUN useradd --create-home --uid 10001 service
USER 10001

EXPOSE 8000 50051
HEALTHCHECK --interval=30s --timeout=3s --start-period=30s \
    CMD ["python", "-c", "import urllib.request; urllib.request.urlopen('http://127.0.0.1:8000/health', timeout=2)"]

ENTRYPOINT ["python", "-m", "stage5a_integration.serve"]
CMD ["--bundle", "/bundle", "--host", "0.0.0.0", "--port", "8000", "--grpc-port", "50051"]
