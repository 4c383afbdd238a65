variable "namespace_name" {
  description = "2-39 lowercase letters, digits and hyphens; Temporal Cloud appends the account id."
  type        = string

  validation {
    condition     = can(regex("^[a-z][a-z0-9-]{0,37}[a-z0-9]$", var.namespace_name))
    error_message = "namespace_name must be 2-39 characters: lowercase letters, digits and -, starting with a letter."
  }
}

variable "region" {
  description = "Temporal Cloud region, prefixed with the cloud, e.g. aws-us-east-1 (same as the VPC's)."
  type        = string
}

variable "retention_days" {
  description = "How long closed workflow histories are kept (audit of trainings, rollouts, rollbacks)."
  type        = number
}

variable "api_key_expiry_time" {
  description = "RFC 3339 expiry of the services' API key; renew before it (docs/operations.md)."
  type        = string
}
