variable "region" {
  type    = string
  default = "us-east-1"
}

variable "domain" {
  description = "api.<domain>, gateway.<domain> and dashboard.<domain> point at the ALB."
  type        = string
}

variable "certificate_arn" {
  description = "ACM certificate covering the three host names (a *.<domain> wildcard does)."
  type        = string
}

variable "image" {
  description = "The Shepherd image, e.g. <account>.dkr.ecr.<region>.amazonaws.com/shepherd@sha256:…"
  type        = string
}

variable "ecr_repository_arn" {
  type = string
}

variable "temporal_mode" {
  description = "cloud: a Temporal Cloud namespace; self-hosted: Temporal server on ECS with the RDS instance."
  type        = string
  default     = "self-hosted"

  validation {
    condition     = contains(["cloud", "self-hosted"], var.temporal_mode)
    error_message = "temporal_mode must be cloud or self-hosted."
  }
}

variable "temporal_cloud_region" {
  type    = string
  default = "aws-us-east-1"
}

variable "temporal_api_key_expiry_time" {
  description = "Expiry of the services' Temporal Cloud API key (cloud mode)."
  type        = string
  default     = "2027-12-31T00:00:00Z"
}

variable "mlflow_tracking_uri" {
  type    = string
  default = ""
}

variable "allowed_cidrs" {
  description = "Who may reach the ALB; dev is usually an office or VPN range."
  type        = list(string)
}
