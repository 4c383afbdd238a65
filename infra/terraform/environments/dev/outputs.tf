output "alb_dns_name" {
  description = "Point api., gateway. and dashboard.<domain> here."
  value       = module.services.alb_dns_name
}

output "cluster_name" {
  value = module.services.cluster_name
}

output "artifact_bucket" {
  value = module.artifacts.bucket_name
}

output "database_instance" {
  value = module.database.instance_id
}

output "kafka_cluster" {
  value = module.kafka.cluster_name
}

output "temporal_address" {
  value = local.temporal.address
}

output "temporal_namespace" {
  value = local.temporal.namespace
}

output "admin_token_secret_arn" {
  description = "aws secretsmanager get-secret-value --secret-id <this> gives the first admin token."
  value       = module.secrets.admin_token_arn
}
