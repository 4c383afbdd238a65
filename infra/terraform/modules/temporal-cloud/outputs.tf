output "address" {
  description = "TEMPORAL_ADDRESS: the regional endpoint API-key clients connect to."
  value       = temporalcloud_namespace.this.endpoints.grpc_address
}

output "namespace" {
  description = "TEMPORAL_NAMESPACE: <name>.<account id>."
  value       = temporalcloud_namespace.this.id
}

output "api_key" {
  value     = temporalcloud_apikey.workers.token
  sensitive = true
}
