#!/bin/sh
# Entry point of docker/Dockerfile.softhsm: initialises the SoftHSM2 token HSM_TOKEN_LABEL (default
# "secrethub") with HSM_PIN and HSM_SO_PIN the first time the container starts (the token directory is
# a volume, so later starts find it), then runs the server. The seal key is not made here: the
# server creates it in the token at first start (generate_key = "true" in server-softhsm.hcl).
set -eu

label="${HSM_TOKEN_LABEL:-secrethub}"
: "${HSM_PIN:?HSM_PIN must be set (the token user PIN; the seal stanza reads it with env://HSM_PIN)}"

# softhsm2-util --show-slots prints "Label: <label>" (padded) for each initialised token.
if softhsm2-util --show-slots | grep -Eq "^[[:space:]]*Label:[[:space:]]+${label}[[:space:]]*$"; then
  echo "softhsm: token '${label}' exists"
else
  : "${HSM_SO_PIN:?HSM_SO_PIN must be set to initialise the token}"
  echo "softhsm: initialising token '${label}'"
  softhsm2-util --init-token --free --label "${label}" --pin "${HSM_PIN}" --so-pin "${HSM_SO_PIN}" >/dev/null
fi
# The SO PIN is needed only for the initialisation: the server never sees it.
unset HSM_SO_PIN

# The image's WORKDIR is /app.
exec node dist/src/main.js "$@"
