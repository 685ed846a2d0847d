# Listens on all interfaces inside the container. Put TLS in front, or give tls_cert_file/tls_key_file.
listener "tcp" {
  address     = "0.0.0.0:8200"
  tls_disable = true
}
