# A tiny image that carries one model bundle, for the Deployment's initContainer:
#   docker build -f deploy/kubernetes/bundle.Dockerfile -t mlcourse-bundle:2026.12.01 .
# (from the project root, after `python -m stage4_own_data.pipeline` and
# `python -m stage5a_integration.export`).
FROM busybox:1.36
COPY runs/stage4_own_data/bundle/ /bundle/
USER 10001
