# Temporal Cloud: a namespace with API-key authentication and a service account (write access to
# this namespace only) whose API key the api and workers use. The key is stored by the secrets
# module; rotate it by replacing temporalcloud_apikey.workers (a new key, then the services redeploy).

terraform {
  required_providers {
    temporalcloud = {
      source = "temporalio/temporalcloud"
    }
  }
}

resource "temporalcloud_namespace" "this" {
  name           = var.namespace_name
  regions        = [var.region]
  api_key_auth   = true
  retention_days = var.retention_days

  lifecycle {
    # Deleting a namespace deletes every workflow history in it.
    prevent_destroy = true
  }
}

resource "temporalcloud_service_account" "workers" {
  name           = "${var.namespace_name}-services"
  account_access = "read"
  namespace_accesses = [
    {
      namespace_id = temporalcloud_namespace.this.id
      permission   = "write"
    }
  ]
}

resource "temporalcloud_apikey" "workers" {
  display_name = "${var.namespace_name}-services"
  owner_type   = "service-account"
  owner_id     = temporalcloud_service_account.workers.id
  expiry_time  = var.api_key_expiry_time
  disabled     = false
}
