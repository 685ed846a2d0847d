# compose.softhsm.yaml: the server of server.hcl, sealed by a key in the SoftHSM2 token "secrethub"
# (initialised by the entrypoint at first start). The server creates the key at first start.
listener "tcp" {
  address     = "0.0.0.0:8200"
  tls_disable = true
}

seal "pkcs11" {
  lib          = "/usr/lib/softhsm/libsofthsm2.so"
  token_label  = "secrethub"
  pin          = "env://HSM_PIN"
  key_label    = "secrethub-root"
  generate_key = "true"
}
