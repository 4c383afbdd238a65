# Secrets Manager entries the services read at start (ECS injects them as environment variables;
# the apps also accept X_FILE for mounted secrets). Values are generated here, so they also live in
# the Terraform state: keep the state in an encrypted bucket with access limited to operators.

resource "aws_kms_key" "secrets" {
  description         = "${var.name} Secrets Manager entries"
  enable_key_rotation = true
}

resource "aws_kms_alias" "secrets" {
  name          = "alias/${var.name}-secrets"
  target_key_id = aws_kms_key.secrets.key_id
}

resource "aws_secretsmanager_secret" "database_url" {
  name                    = "${var.name}/database-url"
  description             = "DATABASE_URL of api, worker and ingestion"
  kms_key_id              = aws_kms_key.secrets.arn
  recovery_window_in_days = var.recovery_window_days
}

resource "aws_secretsmanager_secret_version" "database_url" {
  secret_id = aws_secretsmanager_secret.database_url.id
  # verify-full: the image carries the RDS CA bundle (NODE_EXTRA_CA_CERTS, see the services module).
  secret_string = format(
    "postgres://%s:%s@%s:%d/%s?sslmode=%s",
    var.database.username,
    var.database.password,
    var.database.address,
    var.database.port,
    var.database.name,
    var.database_ssl_mode,
  )
}

# AES-256-GCM keys for Temporal payloads (SHEPHERD_PAYLOAD_KEYS): the API and every worker must hold
# the same list. Rotation (docs/security.md): prepend a new key, keep old ones while histories need them.
resource "random_bytes" "payload_key" {
  length = 32
}

resource "aws_secretsmanager_secret" "payload_keys" {
  name                    = "${var.name}/payload-keys"
  description             = "SHEPHERD_PAYLOAD_KEYS of api and workers"
  kms_key_id              = aws_kms_key.secrets.arn
  recovery_window_in_days = var.recovery_window_days
}

resource "aws_secretsmanager_secret_version" "payload_keys" {
  secret_id     = aws_secretsmanager_secret.payload_keys.id
  secret_string = "${var.payload_key_id}:${random_bytes.payload_key.base64}"

  # Rotation prepends keys by hand; Terraform must not put the list back to one key.
  lifecycle {
    ignore_changes = [secret_string]
  }
}

resource "random_password" "admin_token" {
  length  = 43
  special = false
}

resource "aws_secretsmanager_secret" "admin_token" {
  name                    = "${var.name}/admin-token"
  description             = "SHEPHERD_ADMIN_TOKEN: the first admin token of DEFAULT_PROJECT"
  kms_key_id              = aws_kms_key.secrets.arn
  recovery_window_in_days = var.recovery_window_days
}

resource "aws_secretsmanager_secret_version" "admin_token" {
  secret_id     = aws_secretsmanager_secret.admin_token.id
  secret_string = "shp_${random_password.admin_token.result}"
}

resource "aws_secretsmanager_secret" "temporal_api_key" {
  count                   = var.store_temporal_api_key ? 1 : 0
  name                    = "${var.name}/temporal-api-key"
  description             = "Temporal Cloud API key of api and workers"
  kms_key_id              = aws_kms_key.secrets.arn
  recovery_window_in_days = var.recovery_window_days
}

resource "aws_secretsmanager_secret_version" "temporal_api_key" {
  count         = var.store_temporal_api_key ? 1 : 0
  secret_id     = aws_secretsmanager_secret.temporal_api_key[0].id
  secret_string = var.temporal_api_key
}
