variable "name" {
  type = string
}

variable "vpc_id" {
  type = string
}

variable "subnet_ids" {
  type = list(string)
}

variable "discovery_namespace" {
  description = "Private DNS zone the server is registered in."
  type        = string
  default     = "shepherd.internal"
}

variable "server_image" {
  description = "Temporal server image with schema setup at start; pin a version (and mirror it in ECR)."
  type        = string
  default     = "temporalio/auto-setup:1.27.2"
}

variable "namespace" {
  type    = string
  default = "shepherd"
}

variable "retention_days" {
  type = number
}

variable "database" {
  type = object({
    address  = string
    port     = number
    username = string
    password = string
  })
  sensitive = true
}

variable "database_security_group_id" {
  type = string
}

variable "secrets_kms_key_arn" {
  type = string
}

variable "cpu" {
  type    = number
  default = 1024
}

variable "memory" {
  type    = number
  default = 2048
}

variable "desired_count" {
  type    = number
  default = 1
}

variable "log_retention_days" {
  type    = number
  default = 30
}
