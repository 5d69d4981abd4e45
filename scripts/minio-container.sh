#!/usr/bin/env bash
# Starts MinIO in a container for the GitHub workflow's S3 jobs, on loopback only, and waits until
# its health check passes. (A service container cannot be given MinIO's `server /data` command.)
# Credentials and port match STOWAGE_TEST_S3_URL=http://stowage:stowage-secret@127.0.0.1:19000;
# MINIO_ROOT_USER and MINIO_ROOT_PASSWORD choose others (the cli job's key id must not be a word of
# the command's output, which masks it).
set -euo pipefail
docker run -d --name minio -p 127.0.0.1:19000:9000 \
  -e MINIO_ROOT_USER="${MINIO_ROOT_USER:-stowage}" -e MINIO_ROOT_PASSWORD="${MINIO_ROOT_PASSWORD:-stowage-secret}" \
  --health-cmd "mc ready local" --health-interval 2s --health-timeout 5s --health-retries 30 \
  minio/minio:latest server /data
for _ in $(seq 1 60); do
  status="$(docker inspect -f '{{.State.Health.Status}}' minio)"
  [[ "$status" == healthy ]] && exit 0
  sleep 2
done
docker logs minio
exit 1
