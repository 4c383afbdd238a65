output "address" {
  description = "TEMPORAL_ADDRESS"
  value       = "temporal.${aws_service_discovery_private_dns_namespace.this.name}:7233"
}

output "namespace" {
  description = "TEMPORAL_NAMESPACE"
  value       = var.namespace
}

output "security_group_id" {
  value = aws_security_group.temporal.id
}
