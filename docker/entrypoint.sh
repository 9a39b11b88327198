#!/bin/sh
# The image's entrypoint: runs its command, after reading CINEMA_SERVICE_TOKEN from the file
# that SERVICE_TOKEN_FILE names, when one does (docker-compose.yml's auth-setup job writes the
# gateway's there), so the token is in neither the compose file nor `docker inspect`.
set -eu
if [ -n "${SERVICE_TOKEN_FILE:-}" ]; then
    CINEMA_SERVICE_TOKEN=$(cat "$SERVICE_TOKEN_FILE")
    export CINEMA_SERVICE_TOKEN
fi
exec "$@"
