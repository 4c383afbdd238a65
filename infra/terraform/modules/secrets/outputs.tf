output "kms_key_arn" {
  value = aws_kms_key.secrets.arn
}

output "database_url_arn" {
  value = aws_secretsmanager_secret.database_url.arn
}

output "payload_keys_arn" {
  value = aws_secretsmanager_secret.payload_keys.arn
}

output "admin_token_arn" {
  value = aws_secretsmanager_secret.admin_token.arn
}

output "temporal_api_key_arn" {
  value = var.store_temporal_api_key ? aws_secretsmanager_secret.temporal_api_key[0].arn : null
}
